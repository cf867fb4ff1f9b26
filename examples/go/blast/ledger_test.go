package blast

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
)

func TestLedgerAppendsOncePerKey(t *testing.T) {
	l := Ledger{Path: filepath.Join(t.TempDir(), "sub", "sent.jsonl")}
	for i, want := range []bool{true, false} {
		got, err := l.AppendOnce("k1", map[string]any{"to": "ann <a&b>"})
		if err != nil || got != want {
			t.Fatalf("append %d: got %v, %v; want %v", i, got, err, want)
		}
	}
	text, err := os.ReadFile(l.Path)
	if err != nil {
		t.Fatal(err)
	}
	// Sorted keys, no HTML escaping: the bytes the Rust ledger writes.
	if want := `{"key":"k1","to":"ann <a&b>"}` + "\n"; string(text) != want {
		t.Fatalf("file is %q, want %q", text, want)
	}
}

func TestLedgerRepairsALineCutShort(t *testing.T) {
	l := Ledger{Path: filepath.Join(t.TempDir(), "sent.jsonl")}
	if err := os.WriteFile(l.Path, []byte(`{"key":"a"}`+"\n"+`{"key":"b","to`), 0o644); err != nil {
		t.Fatal(err)
	}
	if ok, err := l.AppendOnce("a", map[string]any{}); ok || err != nil {
		t.Fatalf("key a is present: %v %v", ok, err)
	}
	if ok, err := l.AppendOnce("c", map[string]any{}); !ok || err != nil {
		t.Fatalf("append c: %v %v", ok, err)
	}
	records, err := l.Records()
	if err != nil || len(records) != 2 || records[1]["key"] != "c" {
		t.Fatalf("records %v, %v", records, err)
	}
}

func TestLedgerConcurrentAppendsOfOneKeyWriteOnce(t *testing.T) {
	l := Ledger{Path: filepath.Join(t.TempDir(), "sent.jsonl")}
	var wg sync.WaitGroup
	var mu sync.Mutex
	appended := 0
	for range 16 {
		wg.Go(func() {
			ok, err := l.AppendOnce("same", map[string]any{"n": 1})
			if err != nil {
				t.Error(err)
			}
			if ok {
				mu.Lock()
				appended++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	records, _ := l.Records()
	if appended != 1 || len(records) != 1 {
		t.Fatalf("appended %d times, %d records", appended, len(records))
	}
}

func TestLedgerUnwritableIsAnError(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Ledger{Path: filepath.Join(blocker, "sent.jsonl")}.AppendOnce("k", map[string]any{})
	if err == nil {
		t.Fatal("appending under a regular file must fail")
	}
}
