package blast

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// Ledger is a JSON-lines file with at most one record per "key" field, shared safely by
// several processes (Go or Rust workers): the outbox and the activity log are ledgers.
// Appending "only if the key is not there yet" under an exclusive flock is what makes a
// redelivered message harmless. The Rust worker's Ledger uses the same lock and format.
type Ledger struct {
	// Path is the file (created with its parent folders on first append).
	Path string
}

// AppendOnce appends record with its "key" field set to key, unless a record with that key
// is already there. It reports whether it appended. The line is synced to disk before the
// lock is released, so "appended" survives a crash.
func (l Ledger) AppendOnce(key string, record map[string]any) (bool, error) {
	line, err := encodeLine(key, record)
	if err != nil {
		return false, err
	}
	if dir := filepath.Dir(l.Path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return false, l.wrap(err)
		}
	}
	f, err := os.OpenFile(l.Path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return false, l.wrap(err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		return false, l.wrap(err)
	}
	text, err := io.ReadAll(f)
	if err != nil {
		return false, l.wrap(err)
	}
	for _, existing := range strings.Split(string(text), "\n") {
		var k struct {
			Key *string `json:"key"`
		}
		if json.Unmarshal([]byte(existing), &k) == nil && k.Key != nil && *k.Key == key {
			return false, nil
		}
	}
	// A line cut short by a crash must not swallow the new record.
	if len(text) > 0 && !bytes.HasSuffix(text, []byte("\n")) {
		line = append([]byte("\n"), line...)
	}
	if _, err := f.Write(line); err != nil {
		return false, l.wrap(err)
	}
	if err := f.Sync(); err != nil {
		return false, l.wrap(err)
	}
	return true, nil
}

// Records returns every record in file order (unreadable lines are left out); none when
// the file does not exist.
func (l Ledger) Records() ([]map[string]any, error) {
	text, err := os.ReadFile(l.Path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, l.wrap(err)
	}
	var records []map[string]any
	for _, line := range strings.Split(string(text), "\n") {
		var record map[string]any
		if json.Unmarshal([]byte(line), &record) == nil && record != nil {
			records = append(records, record)
		}
	}
	return records, nil
}

func (l Ledger) wrap(err error) error { return fmt.Errorf("ledger %s: %w", l.Path, err) }

// encodeLine is record with "key" set, as one JSON line (keys sorted, no HTML escaping:
// the same bytes the Rust worker writes).
func encodeLine(key string, record map[string]any) ([]byte, error) {
	withKey := make(map[string]any, len(record)+1)
	for k, v := range record {
		withKey[k] = v
	}
	withKey["key"] = key
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(withKey); err != nil { // Encode ends the line with '\n'
		return nil, fmt.Errorf("cannot encode ledger record: %w", err)
	}
	return buf.Bytes(), nil
}
