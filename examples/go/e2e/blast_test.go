package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferry-gateway/ferry/examples/go/blast"
)

// shippedDirectory is the directory file the Rust and Go workers share.
var shippedDirectory, _ = filepath.Abs("../../rust/blast/data/directory.json")

// blastWorker starts ferry with the Go BlastCustomerSender as its child, reading the
// directory at directory and writing the outbox and activities in dir.
func blastWorker(t *testing.T, dir, directory string) (*ferryProc, blast.Ledger, blast.Ledger) {
	t.Helper()
	bin := buildWorker(t, "blast-customer-sender")
	outbox := blast.Ledger{Path: filepath.Join(dir, "outbox.jsonl")}
	activities := blast.Ledger{Path: filepath.Join(dir, "activities.jsonl")}
	f := startFerry(t, dir, blast.CustomerQueue, []string{bin},
		blast.DataEnv+"="+directory, blast.OutboxEnv+"="+outbox.Path, blast.ActivitiesEnv+"="+activities.Path)
	return f, outbox, activities
}

func task(t *testing.T, blastID, customer string) string {
	t.Helper()
	payload, err := json.Marshal(blast.CustomerTask{
		BlastID: blastID, AccountID: "acct-harbor", CustomerID: customer,
		Template: blast.Template{Subject: "{{name}}, our storm hotline is open", Body: "Dear {{name}}, we write to {{email}}."},
	})
	if err != nil {
		t.Fatal(err)
	}
	return string(payload)
}

func count(t *testing.T, l blast.Ledger) int {
	t.Helper()
	records, err := l.Records()
	if err != nil {
		t.Fatal(err)
	}
	return len(records)
}

func TestBlastMailsEachCustomerOnceAndSkipsTheRest(t *testing.T) {
	dir := t.TempDir()
	f, outbox, activities := blastWorker(t, dir, shippedDirectory)
	customers := []string{"cust-001", "cust-002", "cust-004", "cust-005", "cust-006", "cust-001"}
	ids := make([]string, len(customers))
	for i, c := range customers {
		ids[i] = f.publish(t, blast.CustomerQueue, task(t, "storm-e2e", c))
	}
	waitUntil(t, "every message is done", func() bool {
		return len(f.eventsWhere("message.done", "", nil)) == len(customers)
	})
	if n := count(t, outbox); n != 2 {
		t.Fatalf("outbox has %d mails, want 2 (cust-001 once, cust-002)", n)
	}
	if n := count(t, activities); n != 2 {
		t.Fatalf("activities has %d lines, want 2", n)
	}
	mails, _ := outbox.Records()
	var ann map[string]any
	for _, m := range mails {
		if m["key"] == "blast/storm-e2e/customer/cust-001" {
			ann = m
		}
	}
	if ann["subject"] != "Ann Lee, our storm hotline is open" || ann["to"] != "ann.lee@example.com" ||
		ann["body"] != "Dear Ann Lee, we write to ann.lee@example.com." {
		t.Fatalf("cust-001's mail %v (outbox %v)", ann, mails)
	}
	// The log lines ride in the responses; ferry tags each with its message's context.
	logOf := func(id string) string {
		logs := f.eventsWhere("worker.log", "ferry.message_id", id)
		if len(logs) != 1 || logs[0]["labels.blast_id"] != "storm-e2e" {
			t.Errorf("message %s: want one worker.log event with labels.blast_id, got %v", id, logs)
			return ""
		}
		return fmt.Sprint(logs[0]["message"])
	}
	for i, text := range map[int]string{
		1: "mailed customer cust-002",
		2: "skipped customer cust-004: customer is not active",
		3: "skipped customer cust-005: customer opted out",
		4: "skipped customer cust-006: invalid e-mail address",
	} {
		if got := logOf(ids[i]); got != text {
			t.Errorf("message %s: log %q, want %q", ids[i], got, text)
		}
	}
	// The two cust-001 messages may run at once: one mails, the other finds it mailed.
	pair := []string{logOf(ids[0]), logOf(ids[5])}
	mailed, already := "mailed customer cust-001", "customer cust-001 was already mailed for this blast; not sent again"
	if !(pair[0] == mailed && pair[1] == already) && !(pair[0] == already && pair[1] == mailed) {
		t.Errorf("cust-001's two messages logged %q", pair)
	}
}

func TestAnUnreadableDirectoryIsRetriedUntilItIsBack(t *testing.T) {
	dir := t.TempDir()
	directory := filepath.Join(dir, "later", "directory.json")
	f, outbox, activities := blastWorker(t, dir, directory)
	id := f.publish(t, blast.CustomerQueue, task(t, "retry-e2e", "cust-002"))
	waitUntil(t, "the message is retried because the directory is missing", func() bool {
		for _, e := range f.eventsWhere("message.retried", "ferry.message_id", id) {
			if strings.Contains(fmt.Sprint(e["error.message"]), "cannot read directory "+directory) {
				return true
			}
		}
		return false
	})
	if count(t, outbox) != 0 {
		t.Fatal("nothing may be mailed while the directory is unreadable")
	}
	data, err := os.ReadFile(shippedDirectory)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(directory), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(directory, data, 0o644); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the message is done once the directory is back", func() bool {
		return len(f.eventsWhere("message.done", "ferry.message_id", id)) == 1
	})
	done := f.eventsWhere("message.done", "ferry.message_id", id)[0]
	if attempt, _ := done["ferry.attempt"].(float64); attempt < 2 {
		t.Errorf("done on attempt %v, want a later attempt than the first", done["ferry.attempt"])
	}
	if count(t, outbox) != 1 || count(t, activities) != 1 {
		t.Fatalf("want one mail and one activity, got %d and %d", count(t, outbox), count(t, activities))
	}
}

func TestAMalformedTaskIsDeadLetteredWithItsReason(t *testing.T) {
	dir := t.TempDir()
	f, outbox, _ := blastWorker(t, dir, shippedDirectory)
	bad := f.publish(t, blast.CustomerQueue, task(t, "storm/2024", "cust-001"))
	notJSON := f.publish(t, blast.CustomerQueue, "customer cust-001, please")
	for _, id := range []string{bad, notJSON} {
		waitUntil(t, "message "+id+" is dead-lettered", func() bool {
			return len(f.eventsWhere("message.dead_lettered", "ferry.message_id", id)) == 1
		})
	}
	letters := map[string]map[string]any{}
	for _, line := range strings.Split(strings.TrimSpace(f.cli(t, "dlq", "list", "--json")), "\n") {
		var letter map[string]any
		if err := json.Unmarshal([]byte(line), &letter); err != nil {
			t.Fatalf("dlq list line %q: %v", line, err)
		}
		attrs, _ := letter["attributes"].(map[string]any)
		letters[fmt.Sprint(attrs["ferry.dlq.message_id"])] = attrs
	}
	for id, reason := range map[string]string{
		bad:     `invalid customer task: blast_id "storm/2024" contains '/'`,
		notJSON: "payload is not a valid CustomerTask JSON document",
	} {
		attrs, ok := letters[id]
		if !ok {
			t.Fatalf("message %s is not in `ferry dlq list`: %v", id, letters)
		}
		if !strings.Contains(fmt.Sprint(attrs["ferry.dlq.last_error"]), reason) || attrs["ferry.dlq.attempts"] != "1" {
			t.Errorf("message %s: story %v, want last_error containing %q after 1 attempt", id, attrs, reason)
		}
	}
	if count(t, outbox) != 0 {
		t.Fatal("a dead-lettered task mails nobody")
	}
}
