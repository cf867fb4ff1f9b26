package blast

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// CustomerQueue is the queue the list sender fans customer tasks out to.
const CustomerQueue = "BlastCustomerSender"

// CustomerTask is one customer's share of a blast: the payload of a BlastCustomerSender
// message, as the Rust list sender publishes it.
type CustomerTask struct {
	// BlastID is the blast.
	BlastID string `json:"blast_id"`
	// AccountID is the account sending it.
	AccountID string `json:"account_id"`
	// CustomerID is the recipient.
	CustomerID string `json:"customer_id"`
	// Template is the mail to send.
	Template Template `json:"template"`
}

// IdempotencyKey returns blast/<blast_id>/customer/<customer_id>: the fan-out message's
// de-duplication id and the send's idempotency key.
func IdempotencyKey(blastID, customerID string) string {
	return "blast/" + blastID + "/customer/" + customerID
}

// Key is this task's idempotency key.
func (t CustomerTask) Key() string { return IdempotencyKey(t.BlastID, t.CustomerID) }

// ParseCustomerTask reads a task: every field required, unknown template fields refused,
// and ids that are empty or contain '/' (they would make keys ambiguous) rejected.
func ParseCustomerTask(payload []byte) (CustomerTask, error) {
	var raw struct {
		BlastID    *string          `json:"blast_id"`
		AccountID  *string          `json:"account_id"`
		CustomerID *string          `json:"customer_id"`
		Template   *json.RawMessage `json:"template"`
	}
	invalid := func(err error) (CustomerTask, error) {
		return CustomerTask{}, fmt.Errorf("payload is not a valid CustomerTask JSON document: %w", err)
	}
	if err := json.Unmarshal(payload, &raw); err != nil {
		return invalid(err)
	}
	for _, f := range []struct {
		name  string
		value *string
	}{{"blast_id", raw.BlastID}, {"account_id", raw.AccountID}, {"customer_id", raw.CustomerID}} {
		if f.value == nil {
			return invalid(fmt.Errorf("missing field `%s`", f.name))
		}
	}
	if raw.Template == nil {
		return invalid(errors.New("missing field `template`"))
	}
	var tmpl struct {
		Subject *string `json:"subject"`
		Body    *string `json:"body"`
	}
	if err := strictDecode(*raw.Template, &tmpl); err != nil {
		return invalid(fmt.Errorf("template: %w", err))
	}
	if tmpl.Subject == nil || tmpl.Body == nil {
		return invalid(errors.New("template: `subject` and `body` are required"))
	}
	task := CustomerTask{
		BlastID:    *raw.BlastID,
		AccountID:  *raw.AccountID,
		CustomerID: *raw.CustomerID,
		Template:   Template{Subject: *tmpl.Subject, Body: *tmpl.Body},
	}
	for _, id := range []struct{ field, value string }{{"blast_id", task.BlastID}, {"customer_id", task.CustomerID}} {
		if err := checkID(id.field, id.value); err != nil {
			return CustomerTask{}, fmt.Errorf("invalid customer task: %w", err)
		}
	}
	return task, nil
}

func checkID(field, value string) error {
	switch {
	case value == "":
		return fmt.Errorf("%s is empty", field)
	case strings.Contains(value, "/"):
		return fmt.Errorf("%s %q contains '/'", field, value)
	}
	return nil
}
