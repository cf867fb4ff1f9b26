// Tests that the sender's span joins the trace ferry sends with the message.

package blast

import (
	"context"
	"testing"

	ferryv1 "github.com/ferry-gateway/ferry/examples/go/gen/ferry/v1"
	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

func TestHandleSpanJoinsTheMessagesTrace(t *testing.T) {
	recorder := tracetest.NewSpanRecorder()
	provider := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(recorder))
	previous := otel.GetTracerProvider()
	otel.SetTracerProvider(provider)
	t.Cleanup(func() { otel.SetTracerProvider(previous); _ = provider.Shutdown(context.Background()) })

	s := newSetup(t)
	req := &ferryv1.HandleRequest{Payload: taskPayload(t, "cust-001"), Trace: &ferryv1.TraceContext{
		Traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}}
	if _, err := s.sender.Handle(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	ended := recorder.Ended()
	if len(ended) != 1 || ended[0].Name() != "blast.customer_task" {
		t.Fatalf("recorded %v, want one blast.customer_task span", ended)
	}
	if got := ended[0].SpanContext().TraceID().String(); got != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Errorf("trace id %s", got)
	}
	if got := ended[0].Parent().SpanID().String(); got != "00f067aa0ba902b7" {
		t.Errorf("parent span id %s", got)
	}
}
