package worker

import (
	"context"
	"time"

	ferryv1 "github.com/ferry-gateway/ferry/examples/go/gen/ferry/v1"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Done answers that the message was processed: ferry publishes the response's messages,
// then acks the input. logs ride along in the response.
func Done(logs ...*ferryv1.LogLine) *ferryv1.HandleResponse {
	return &ferryv1.HandleResponse{
		Outcome: &ferryv1.HandleResponse_Done{Done: &ferryv1.Done{}},
		Logs:    logs,
	}
}

// Retry answers that the message failed and may succeed later. A zero delay leaves the
// wait to the subscription's backoff; otherwise ferry waits delay (capped at backoff.max).
func Retry(reason string, delay time.Duration, logs ...*ferryv1.LogLine) *ferryv1.HandleResponse {
	retry := &ferryv1.Retry{Reason: reason}
	if delay > 0 {
		retry.Delay = durationpb.New(delay)
	}
	return &ferryv1.HandleResponse{
		Outcome: &ferryv1.HandleResponse_Retry{Retry: retry},
		Logs:    logs,
	}
}

// DeadLetter answers that the message can never be processed: ferry moves it to the error
// queue now, with reason.
func DeadLetter(reason string, logs ...*ferryv1.LogLine) *ferryv1.HandleResponse {
	return &ferryv1.HandleResponse{
		Outcome: &ferryv1.HandleResponse_DeadLetter{DeadLetter: &ferryv1.DeadLetter{Reason: reason}},
		Logs:    logs,
	}
}

// Log is a log line written now; ferry gives it the standard shape and tags it with the
// message's context (message id, subscription, realm, attempt, trace id).
func Log(level ferryv1.LogLevel, message string, fields map[string]string) *ferryv1.LogLine {
	return &ferryv1.LogLine{
		Level:   level,
		Message: message,
		Fields:  fields,
		Time:    timestamppb.Now(),
	}
}

// Info is Log at LOG_LEVEL_INFO.
func Info(message string, fields map[string]string) *ferryv1.LogLine {
	return Log(ferryv1.LogLevel_LOG_LEVEL_INFO, message, fields)
}

// WithDeadline narrows ctx to the request's deadline (ferry stops waiting then, and
// retries whatever answer comes later). Without a deadline in the request, ctx is kept.
func WithDeadline(ctx context.Context, req *ferryv1.HandleRequest) (context.Context, context.CancelFunc) {
	if req.GetDeadline() == nil {
		return context.WithCancel(ctx)
	}
	return context.WithDeadline(ctx, req.GetDeadline().AsTime())
}
