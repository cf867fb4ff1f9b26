package blast

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Mail is one mail to one customer.
type Mail struct {
	// IdempotencyKey is blast/<blast_id>/customer/<customer_id>: a transport delivers at
	// most one mail per key.
	IdempotencyKey string
	// AccountID is the sending account.
	AccountID string
	// To is the recipient's address.
	To string
	// Subject is the subject line.
	Subject string
	// Body is the body text.
	Body string
}

// Delivery is what a transport did with a mail.
type Delivery int

const (
	// Sent means the mail was handed over for delivery now.
	Sent Delivery = iota
	// AlreadySent means a mail with the same key was sent before; nothing was sent now.
	AlreadySent
)

var (
	// ErrUnavailable wraps failures that may pass (provider down, disk full): retry later.
	ErrUnavailable = errors.New("mail transport unavailable")
	// ErrRejected wraps a refusal for good (a hard bounce): never retry.
	ErrRejected = errors.New("mail rejected")
)

// MailTransport sends mail, idempotently on Mail.IdempotencyKey: the same key twice
// delivers once and answers AlreadySent the second time. Errors wrap ErrUnavailable or
// ErrRejected.
type MailTransport interface {
	Send(ctx context.Context, mail Mail) (Delivery, error)
}

// OutboxTransport is the demo transport: one JSON line per mail in an outbox ledger, at
// most one per key (the line format of the Rust worker's outbox).
type OutboxTransport struct {
	// Outbox is where mails go.
	Outbox Ledger
}

// Send appends the mail to the outbox unless its key is there already.
func (o OutboxTransport) Send(_ context.Context, mail Mail) (Delivery, error) {
	appended, err := o.Outbox.AppendOnce(mail.IdempotencyKey, map[string]any{
		"account_id": mail.AccountID,
		"to":         mail.To,
		"subject":    mail.Subject,
		"body":       mail.Body,
		"sent_at_ms": nowMS(),
	})
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	if appended {
		return Sent, nil
	}
	return AlreadySent, nil
}

func nowMS() int64 { return time.Now().UnixMilli() }
