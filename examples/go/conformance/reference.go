// Package conformance is the reference behaviour of the worker conformance kit
// (tests/conformance/README.md) in Go: a ferry.v1.WorkerService that answers each request
// as its conformance.* attributes say. `ferry conformance --worker ADDR` checks it.
package conformance

import (
	"context"
	"strconv"
	"time"

	ferryv1 "github.com/ferry-gateway/ferry/examples/go/gen/ferry/v1"
	"github.com/ferry-gateway/ferry/examples/go/worker"
)

// The attributes that drive the reference behaviour, and the echo's destination.
const (
	ExpectAttr      = "conformance.expect"
	ReasonAttr      = "conformance.reason"
	DelayAttr       = "conformance.delay_ms"
	SleepAttr       = "conformance.sleep_ms"
	EchoDestination = "conformance.echo"
)

// Reference is the reference worker.
type Reference struct {
	ferryv1.UnimplementedWorkerServiceServer
}

// Handle answers req as the reference behaviour says. It stops at the request's deadline
// (answering retry) when a sleep would run past it.
func (Reference) Handle(ctx context.Context, req *ferryv1.HandleRequest) (*ferryv1.HandleResponse, error) {
	ctx, cancel := worker.WithDeadline(worker.ContextWithTrace(ctx, req), req)
	defer cancel()
	attrs := req.GetAttributes()
	millis := func(attr string) (time.Duration, bool, error) {
		v, ok := attrs[attr]
		if !ok {
			return 0, false, nil
		}
		ms, err := strconv.ParseUint(v, 10, 63)
		return time.Duration(ms) * time.Millisecond, true, err
	}
	switch expect := attrs[ExpectAttr]; expect {
	case "done":
		return done(req), nil
	case "retry":
		delay, _, err := millis(DelayAttr)
		if err != nil {
			return worker.DeadLetter(DelayAttr + ": " + err.Error()), nil
		}
		return worker.Retry(attrs[ReasonAttr], delay), nil
	case "dead_letter":
		return worker.DeadLetter(attrs[ReasonAttr]), nil
	case "sleep":
		sleep, _, err := millis(SleepAttr)
		if err != nil {
			return worker.DeadLetter(SleepAttr + ": " + err.Error()), nil
		}
		timer := time.NewTimer(sleep)
		defer timer.Stop()
		select {
		case <-timer.C:
			return done(req), nil
		case <-ctx.Done():
			return worker.Retry("deadline exceeded", 0,
				worker.Log(ferryv1.LogLevel_LOG_LEVEL_WARN, "handler stopped at the message deadline", nil)), nil
		}
	default:
		return worker.DeadLetter("unknown " + ExpectAttr + ": " + expect), nil
	}
}

// done answers done, echoing the request to EchoDestination, with one log line.
func done(req *ferryv1.HandleRequest) *ferryv1.HandleResponse {
	resp := worker.Done(worker.Info("conformance done", map[string]string{
		"message_id":    req.GetMessageId(),
		"attempt":       strconv.FormatUint(uint64(req.GetAttempt()), 10),
		"payload_bytes": strconv.Itoa(len(req.GetPayload())),
	}))
	resp.Publish = []*ferryv1.OutgoingMessage{{
		Destination: EchoDestination,
		Payload:     req.GetPayload(),
		Attributes:  req.GetAttributes(),
		Realm:       req.GetRealm(),
	}}
	return resp
}
