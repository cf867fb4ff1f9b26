package blast

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	ferryv1 "github.com/ferry-gateway/ferry/examples/go/gen/ferry/v1"
)

// The directory the Rust workers ship; the Go worker reads the same file.
const shippedDirectory = "../../rust/blast/data/directory.json"

type setup struct {
	sender     *Sender
	outbox     Ledger
	activities Ledger
}

func newSetup(t *testing.T) setup {
	dir := t.TempDir()
	outbox := Ledger{Path: filepath.Join(dir, "outbox.jsonl")}
	activities := Ledger{Path: filepath.Join(dir, "activities.jsonl")}
	return setup{
		sender:     &Sender{DirectoryPath: shippedDirectory, Transport: OutboxTransport{Outbox: outbox}, Activities: activities},
		outbox:     outbox,
		activities: activities,
	}
}

func taskPayload(t *testing.T, customer string) []byte {
	t.Helper()
	payload, err := json.Marshal(CustomerTask{
		BlastID: "storm", AccountID: "acct-harbor", CustomerID: customer,
		Template: Template{Subject: "Hi {{name}}", Body: "To {{email}}"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return payload
}

func records(t *testing.T, l Ledger) []map[string]any {
	t.Helper()
	r, err := l.Records()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func firstLog(t *testing.T, resp *ferryv1.HandleResponse) *ferryv1.LogLine {
	t.Helper()
	if len(resp.GetLogs()) == 0 {
		t.Fatalf("no log line in %v", resp)
	}
	return resp.GetLogs()[0]
}

func TestACustomerHandledTwiceIsMailedOnce(t *testing.T) {
	s := newSetup(t)
	first := s.sender.Process(context.Background(), taskPayload(t, "cust-001"))
	again := s.sender.Process(context.Background(), taskPayload(t, "cust-001"))
	if first.GetDone() == nil || again.GetDone() == nil {
		t.Fatalf("both done: %v / %v", first, again)
	}
	if got := firstLog(t, first).GetMessage(); got != "mailed customer cust-001" {
		t.Errorf("first log %q", got)
	}
	if got := firstLog(t, again).GetMessage(); !strings.Contains(got, "already mailed") {
		t.Errorf("second log %q", got)
	}
	if f := firstLog(t, first).GetFields(); f["blast_id"] != "storm" || f["customer_id"] != "cust-001" {
		t.Errorf("log fields %v", f)
	}
	outbox := records(t, s.outbox)
	if len(outbox) != 1 {
		t.Fatalf("outbox %v", outbox)
	}
	want := map[string]any{"key": "blast/storm/customer/cust-001", "subject": "Hi Ann Lee", "body": "To ann.lee@example.com", "to": "ann.lee@example.com", "account_id": "acct-harbor"}
	for k, v := range want {
		if outbox[0][k] != v {
			t.Errorf("outbox %s = %v, want %v", k, outbox[0][k], v)
		}
	}
	activities := records(t, s.activities)
	if len(activities) != 1 || activities[0]["action"] != "blast.mail_sent" || activities[0]["customer_id"] != "cust-001" {
		t.Fatalf("activities %v", activities)
	}
}

func TestInactiveOptedOutInvalidAndUnknownCustomersAreSkipped(t *testing.T) {
	s := newSetup(t)
	for customer, reason := range map[string]string{
		"cust-004": SkipInactive, "cust-005": SkipOptedOut, "cust-006": SkipInvalid, "cust-999": SkipUnknown,
	} {
		resp := s.sender.Process(context.Background(), taskPayload(t, customer))
		if resp.GetDone() == nil {
			t.Errorf("%s: %v", customer, resp)
			continue
		}
		if got := firstLog(t, resp).GetFields()["skip_reason"]; got != reason {
			t.Errorf("%s: skip_reason %q, want %q", customer, got, reason)
		}
	}
	if len(records(t, s.outbox)) != 0 || len(records(t, s.activities)) != 0 {
		t.Fatal("nothing may be sent or recorded for skipped customers")
	}
}

func TestACrashAfterSendingRecordsTheActivityOnRedelivery(t *testing.T) {
	s := newSetup(t)
	// The mail went out, then the worker died before recording the activity.
	if _, err := s.outbox.AppendOnce("blast/storm/customer/cust-002", map[string]any{}); err != nil {
		t.Fatal(err)
	}
	resp := s.sender.Process(context.Background(), taskPayload(t, "cust-002"))
	if resp.GetDone() == nil || !strings.Contains(firstLog(t, resp).GetMessage(), "already mailed") {
		t.Fatalf("%v", resp)
	}
	if len(records(t, s.outbox)) != 1 {
		t.Fatal("mailed again")
	}
	if a := records(t, s.activities); len(a) != 1 || a[0]["customer_id"] != "cust-002" {
		t.Fatalf("activities %v", a)
	}
}

func TestMalformedTasksAreDeadLettered(t *testing.T) {
	s := newSetup(t)
	slash := strings.Replace(string(taskPayload(t, "cust-001")), "storm", "st/orm", 1)
	extra := strings.Replace(string(taskPayload(t, "cust-001")), `"body"`, `"bcc":"x","body"`, 1)
	for payload, reason := range map[string]string{
		"{":                "payload is not a valid CustomerTask",
		`{"blast_id":"b"}`: "missing field `account_id`",
		"":                 "payload is not a valid CustomerTask",
		slash:              `blast_id "st/orm" contains '/'`,
		extra:              `unknown field "bcc"`,
		`{"blast_id":"","account_id":"a","customer_id":"c","template":{"subject":"","body":""}}`: "blast_id is empty",
	} {
		resp := s.sender.Process(context.Background(), []byte(payload))
		if got := resp.GetDeadLetter().GetReason(); !strings.Contains(got, reason) {
			t.Errorf("%q: dead-letter reason %q should contain %q (%v)", payload, got, reason, resp)
		}
	}
}

// failing is a transport that fails with err and remembers whom it was asked to mail.
type failing struct {
	err   error
	asked []string
}

func (f *failing) Send(_ context.Context, mail Mail) (Delivery, error) {
	f.asked = append(f.asked, mail.To)
	return 0, f.err
}

func TestTransportFailuresRetryOrDeadLetter(t *testing.T) {
	activities := Ledger{Path: filepath.Join(t.TempDir(), "activities.jsonl")}
	for _, tc := range []struct {
		err   error
		retry bool
	}{
		{errors.Join(ErrUnavailable, errors.New("provider says no")), true},
		{errors.Join(ErrRejected, errors.New("provider says no")), false},
	} {
		transport := &failing{err: tc.err}
		sender := &Sender{DirectoryPath: shippedDirectory, Transport: transport, Activities: activities}
		resp := sender.Process(context.Background(), taskPayload(t, "cust-003"))
		if (resp.GetRetry() != nil) != tc.retry || (resp.GetDeadLetter() != nil) == tc.retry {
			t.Errorf("%v: %v", tc.err, resp)
		}
		if len(transport.asked) != 1 || transport.asked[0] != "carla+alerts@mail.example.net" {
			t.Errorf("asked %v", transport.asked)
		}
	}
	if len(records(t, activities)) != 0 {
		t.Fatal("no activity without a sent mail")
	}
}

func TestAnUnreadableDirectoryIsRetried(t *testing.T) {
	dir := t.TempDir()
	sender := &Sender{
		DirectoryPath: filepath.Join(dir, "missing.json"),
		Transport:     OutboxTransport{Outbox: Ledger{Path: filepath.Join(dir, "outbox.jsonl")}},
		Activities:    Ledger{Path: filepath.Join(dir, "activities.jsonl")},
	}
	resp := sender.Process(context.Background(), taskPayload(t, "cust-001"))
	if !strings.Contains(resp.GetRetry().GetReason(), "cannot read directory") {
		t.Fatalf("%v", resp)
	}
}

func TestShippedDirectoryParsesLikeTheRustOne(t *testing.T) {
	dir, err := LoadDirectory(shippedDirectory)
	if err != nil {
		t.Fatal(err)
	}
	c, ok := dir.Customer("cust-004")
	if !ok || c.Active || c.OptedOut {
		t.Fatalf("cust-004 %+v", c)
	}
	if c, _ := dir.Customer("cust-001"); !c.Active || c.Email != "ann.lee@example.com" {
		t.Fatalf("cust-001 %+v", c)
	}
	if _, err := LoadDirectory("testdata/nope.json"); err == nil {
		t.Fatal("a missing file is an error")
	}
}

func TestAnInvalidDirectoryIsRetriedNamingTheFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "directory.json")
	if err := os.WriteFile(path, []byte(`{"customers":{"c":{"name":"A","email":"a@example.com","vip":true}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	sender := &Sender{DirectoryPath: path, Transport: &failing{}, Activities: Ledger{Path: filepath.Join(dir, "a.jsonl")}}
	reason := sender.Process(context.Background(), taskPayload(t, "c")).GetRetry().GetReason()
	if !strings.Contains(reason, path) || !strings.Contains(reason, `unknown field "vip"`) {
		t.Fatalf("retry reason %q", reason)
	}
}
