package e2e

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestGoConformanceWorkerPassesFerryConformance runs `ferry conformance` against the Go
// reference worker started as a real process.
func TestGoConformanceWorkerPassesFerryConformance(t *testing.T) {
	bin := ferryBin(t)
	worker := buildWorker(t, "conformance-worker")
	addr := freeAddr(t)
	cmd := exec.Command(worker)
	cmd.Env = append(ferryFreeEnv(), "FERRY_WORKER_ADDR="+addr)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		if err := cmd.Wait(); err != nil {
			t.Errorf("conformance-worker did not stop cleanly on SIGTERM: %v", err)
		}
	})
	waitUntil(t, "the worker listens on "+addr, func() bool {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			conn.Close()
		}
		return err == nil
	})

	out, err := exec.Command(bin, "conformance", "--worker", addr).CombinedOutput()
	if err != nil {
		t.Fatalf("ferry conformance failed: %v\n%s", err, out)
	}
	vectors, _ := filepath.Glob("../../../tests/conformance/*.json")
	passed, failed := 0, 0
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "PASS ") {
			passed++
		} else if strings.HasPrefix(line, "FAIL ") {
			failed++
		}
	}
	if len(vectors) == 0 || passed != len(vectors) || failed != 0 {
		t.Fatalf("want %d PASS lines and no FAIL, got:\n%s", len(vectors), out)
	}
}
