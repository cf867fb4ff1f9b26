// Package e2e runs the Go workers beside the real ferry binary ($FERRY_BIN, built by
// `cargo build -p ferry`; scripts/test.sh sets it): ferry on the embedded backend starts the
// worker as its child (`ferry run --config ... -- ./worker`), messages are published with
// `ferry publish`, and the tests read ferry's JSON events, the worker's files and
// `ferry dlq list`. Without FERRY_BIN the tests are skipped, and only then.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// eventually is how long a condition may take to become true.
const eventually = 30 * time.Second

// ferryBin returns $FERRY_BIN, or skips the test when it is unset.
func ferryBin(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("FERRY_BIN")
	if bin == "" {
		t.Skip("FERRY_BIN is not set: build ferry (cargo build -p ferry) and set FERRY_BIN=target/debug/ferry")
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("FERRY_BIN=%s: %v", bin, err)
	}
	return bin
}

var (
	buildMu sync.Mutex
	built   = map[string]string{}
	binDir  string
)

// buildWorker builds ./cmd/<name> once per test process and returns the binary's path.
func buildWorker(t *testing.T, name string) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if path, ok := built[name]; ok {
		return path
	}
	if binDir == "" {
		dir, err := os.MkdirTemp("", "ferry-go-e2e-")
		if err != nil {
			t.Fatal(err)
		}
		binDir = dir
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	path := filepath.Join(binDir, name)
	out, err := exec.Command(goTool, "build", "-o", path, "github.com/ferry-gateway/ferry/examples/go/cmd/"+name).CombinedOutput()
	if err != nil {
		t.Fatalf("go build %s: %v\n%s", name, err, out)
	}
	built[name] = path
	return path
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// freeAddr returns a 127.0.0.1 address with a port that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer lis.Close()
	return lis.Addr().String()
}

// waitUntil polls cond every 25 ms until it is true, failing the test after eventually.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(eventually)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not true within %v: %s", eventually, what)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// ferryProc is a running `ferry run` with its worker child.
type ferryProc struct {
	bin, config string
	cmd         *exec.Cmd
	mu          sync.Mutex
	events      []map[string]any
	stderr      bytes.Buffer
	exited      chan error
	stopOnce    sync.Once
	gone        atomic.Bool
}

// startFerry writes a config (embedded backend in dir, one subscription with fast
// retries, every port chosen here or by the OS) and starts ferry with worker as its child.
func startFerry(t *testing.T, dir, subscription string, worker []string, env ...string) *ferryProc {
	t.Helper()
	bin := ferryBin(t)
	config := filepath.Join(dir, "ferry.toml")
	text := fmt.Sprintf(`service = "go-e2e"
[worker]
address = "http://%s"
health_interval = "200ms"
stop_timeout = "5s"
[gateway]
listen = "127.0.0.1:0"
[admin]
listen = "127.0.0.1:0"
[backend.embedded]
path = %q
poll_interval = "50ms"
[subscriptions.%s]
max_attempts = 3
backoff = { min = "50ms", max = "200ms" }
receive_wait = "200ms"
`, freeAddr(t), filepath.Join(dir, "ferry.db"), subscription)
	if err := os.WriteFile(config, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	f := &ferryProc{bin: bin, config: config, exited: make(chan error, 1)}
	f.cmd = exec.Command(bin, append([]string{"run", "--config", config, "--"}, worker...)...)
	f.cmd.Env = append(ferryFreeEnv(), env...)
	f.cmd.Stderr = &lockedWriter{mu: &f.mu, w: &f.stderr}
	stdout, err := f.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := f.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	go func() {
		scanner := bufio.NewScanner(stdout)
		scanner.Buffer(make([]byte, 1<<20), 16<<20)
		for scanner.Scan() {
			var event map[string]any
			if json.Unmarshal(scanner.Bytes(), &event) == nil {
				f.mu.Lock()
				f.events = append(f.events, event)
				f.mu.Unlock()
			}
		}
		err := f.cmd.Wait()
		f.gone.Store(true)
		f.exited <- err
	}()
	t.Cleanup(func() { f.stop(t) })
	waitUntil(t, "the worker is serving (worker.health event)", func() bool {
		return f.gone.Load() || len(f.eventsWhere("worker.health", "ferry.worker.serving", true)) > 0
	})
	if f.gone.Load() {
		f.mu.Lock()
		defer f.mu.Unlock()
		t.Fatalf("ferry exited at start-up:\n%s", f.stderr.String())
	}
	return f
}

// ferryFreeEnv is this process's environment without FERRY_* variables: ferry reads
// FERRY_<SECTION>__<KEY> as config overrides, and the tests must not depend on the
// caller's.
func ferryFreeEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "FERRY_") {
			env = append(env, kv)
		}
	}
	return env
}

// lockedWriter serialises writes to w under mu.
type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// eventsWhere returns the events with this event.action whose field key equals value
// (every event of the action when key is "").
func (f *ferryProc) eventsWhere(action, key string, value any) []map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []map[string]any
	for _, e := range f.events {
		if e["event.action"] == action && (key == "" || e[key] == value) {
			out = append(out, e)
		}
	}
	return out
}

// cli runs `ferry <args> --config <config>` and returns its stdout, failing on error.
func (f *ferryProc) cli(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), eventually)
	defer cancel()
	cmd := exec.CommandContext(ctx, f.bin, append(args, "--config", f.config)...)
	cmd.Env = ferryFreeEnv()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ferry %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}

// publish publishes payload to queue with `ferry publish` and returns the message id.
func (f *ferryProc) publish(t *testing.T, queue, payload string) string {
	t.Helper()
	return strings.TrimSpace(f.cli(t, "publish", "--queue", queue, "--data", payload))
}

// stop sends SIGTERM and waits for ferry to drain and exit 0 (it stops the worker).
func (f *ferryProc) stop(t *testing.T) {
	f.stopOnce.Do(func() { f.terminate(t) })
}

func (f *ferryProc) terminate(t *testing.T) {
	_ = f.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-f.exited:
		if err != nil {
			f.mu.Lock()
			defer f.mu.Unlock()
			t.Errorf("ferry did not exit cleanly after SIGTERM: %v\nstderr:\n%s", err, f.stderr.String())
		}
	case <-time.After(eventually):
		_ = f.cmd.Process.Kill()
		<-f.exited
		t.Errorf("ferry did not stop within %v of SIGTERM", eventually)
	}
}
