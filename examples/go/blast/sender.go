// Package blast is the BlastCustomerSender worker of the blast e-mail flow in Go, with the
// same behaviour and file formats as the Rust worker (examples/rust/blast): it checks the
// customer, renders the template, sends the mail at most once per
// blast/<blast_id>/customer/<customer_id> through an outbox and records the activity, also
// once per key, and returns its log lines in the response.
package blast

import (
	"context"
	"errors"
	"fmt"
	"os"

	ferryv1 "github.com/ferry-gateway/ferry/examples/go/gen/ferry/v1"
	"github.com/ferry-gateway/ferry/examples/go/worker"
	"go.opentelemetry.io/otel"
)

// The environment variables naming the worker's files, and their defaults (relative to the
// repository root, like the Rust workers').
const (
	DataEnv           = "BLAST_DATA"
	OutboxEnv         = "BLAST_OUTBOX"
	ActivitiesEnv     = "BLAST_ACTIVITIES"
	DefaultData       = "examples/rust/blast/data/directory.json"
	DefaultOutbox     = "blast-outbox.jsonl"
	DefaultActivities = "blast-activities.jsonl"
)

// Skip reasons: a customer who gets no mail. Skipping is a normal outcome (done).
const (
	SkipUnknown  = "unknown customer"
	SkipInactive = "customer is not active"
	SkipOptedOut = "customer opted out"
	SkipInvalid  = "invalid e-mail address"
)

// Sender is the BlastCustomerSender worker.
type Sender struct {
	ferryv1.UnimplementedWorkerServiceServer
	// DirectoryPath is the directory JSON file, read on every message.
	DirectoryPath string
	// Transport sends the mail.
	Transport MailTransport
	// Activities records one activity per key.
	Activities Ledger
}

// FromEnv is a Sender on the files named by BLAST_DATA, BLAST_OUTBOX and
// BLAST_ACTIVITIES (or the defaults), sending through the outbox.
func FromEnv() *Sender {
	get := func(name, def string) string {
		if v := os.Getenv(name); v != "" {
			return v
		}
		return def
	}
	return &Sender{
		DirectoryPath: get(DataEnv, DefaultData),
		Transport:     OutboxTransport{Outbox: Ledger{Path: get(OutboxEnv, DefaultOutbox)}},
		Activities:    Ledger{Path: get(ActivitiesEnv, DefaultActivities)},
	}
}

// CheckCustomer returns why customer may not be mailed, or "" when it may.
func CheckCustomer(customer Customer, found bool) string {
	switch {
	case !found:
		return SkipUnknown
	case !customer.Active:
		return SkipInactive
	case customer.OptedOut:
		return SkipOptedOut
	case !IsValidAddress(customer.Email):
		return SkipInvalid
	}
	return ""
}

// TracerName names the tracer of the sender's own spans (no-ops unless a TracerProvider
// is installed).
const TracerName = "github.com/ferry-gateway/ferry/examples/go/blast"

// Handle implements ferry.v1.WorkerService. Its "blast.customer_task" span joins the
// message's trace (worker.ContextWithTrace).
func (s *Sender) Handle(ctx context.Context, req *ferryv1.HandleRequest) (*ferryv1.HandleResponse, error) {
	ctx, cancel := worker.WithDeadline(worker.ContextWithTrace(ctx, req), req)
	defer cancel()
	ctx, span := otel.Tracer(TracerName).Start(ctx, "blast.customer_task")
	defer span.End()
	return s.Process(ctx, req.GetPayload()), nil
}

// Process handles one customer task and says what happened to it.
func (s *Sender) Process(ctx context.Context, payload []byte) *ferryv1.HandleResponse {
	task, err := ParseCustomerTask(payload)
	if err != nil {
		return worker.DeadLetter(err.Error())
	}
	directory, err := LoadDirectory(s.DirectoryPath)
	if err != nil {
		return worker.Retry(err.Error(), 0)
	}
	fields := map[string]string{"blast_id": task.BlastID, "customer_id": task.CustomerID}
	customer, found := directory.Customer(task.CustomerID)
	if skip := CheckCustomer(customer, found); skip != "" {
		fields["skip_reason"] = skip
		return worker.Done(worker.Info(fmt.Sprintf("skipped customer %s: %s", task.CustomerID, skip), fields))
	}
	subject, body := task.Template.Render(customer)
	mail := Mail{IdempotencyKey: task.Key(), AccountID: task.AccountID, To: customer.Email, Subject: subject, Body: body}
	delivery, err := s.Transport.Send(ctx, mail)
	switch {
	case errors.Is(err, ErrRejected):
		return worker.DeadLetter(err.Error())
	case err != nil:
		return worker.Retry(err.Error(), 0)
	}
	// After a crash between the send and this line, the redelivery finds the mail already
	// sent and records the missing activity here.
	_, err = s.Activities.AppendOnce(mail.IdempotencyKey, map[string]any{
		"action":      "blast.mail_sent",
		"blast_id":    task.BlastID,
		"account_id":  task.AccountID,
		"customer_id": task.CustomerID,
		"at_ms":       nowMS(),
	})
	if err != nil {
		return worker.Retry(fmt.Sprintf("mail sent, activity not recorded: %v", err), 0)
	}
	text := fmt.Sprintf("mailed customer %s", task.CustomerID)
	if delivery == AlreadySent {
		text = fmt.Sprintf("customer %s was already mailed for this blast; not sent again", task.CustomerID)
	}
	return worker.Done(worker.Info(text, fields))
}
