package e2e

import (
	"strings"
	"testing"
)

// TestMinimalWorkerRunsBesideFerry runs README.md's Go handler under ferry.
func TestMinimalWorkerRunsBesideFerry(t *testing.T) {
	bin := buildWorker(t, "minimal-worker")
	f := startFerry(t, t.TempDir(), "orders", []string{bin})
	good := f.publish(t, "orders", `{"id": "42"}`)
	bad := f.publish(t, "orders", "not json")
	waitUntil(t, "the order is done and the bad one dead-lettered", func() bool {
		return len(f.eventsWhere("message.done", "ferry.message_id", good)) == 1 &&
			len(f.eventsWhere("message.dead_lettered", "ferry.message_id", bad)) == 1
	})
	logs := f.eventsWhere("worker.log", "ferry.message_id", good)
	if len(logs) != 1 || logs[0]["message"] != "order 42 received" {
		t.Fatalf("worker.log events for the order: %v", logs)
	}
	dead := f.eventsWhere("message.dead_lettered", "ferry.message_id", bad)[0]
	if !strings.Contains(dead["error.message"].(string), "invalid character") {
		t.Fatalf("dead letter %v", dead)
	}
}
