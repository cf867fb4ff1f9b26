// Tests for trace.go and the server's tracing: a request's traceparent becomes the parent
// of the handler's spans, and a Handle call's traceparent metadata the parent of the gRPC
// server span, both checked with spans recorded in memory (tracetest).

package worker

import (
	"context"
	"net"
	"testing"
	"time"

	ferryv1 "github.com/ferry-gateway/ferry/examples/go/gen/ferry/v1"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
)

const (
	testTraceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	testTraceID     = "4bf92f3577b34da6a3ce929d0e0e4736"
	testParentID    = "00f067aa0ba902b7"
)

// startRecorded starts a span named name from ctx with a provider recording in memory and
// returns the ended span.
func startRecorded(t *testing.T, ctx context.Context, name string) sdktrace.ReadOnlySpan {
	t.Helper()
	recorder := tracetest.NewSpanRecorder()
	provider := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(recorder))
	defer provider.Shutdown(context.Background())
	_, span := provider.Tracer("test").Start(ctx, name)
	span.End()
	ended := recorder.Ended()
	if len(ended) != 1 {
		t.Fatalf("recorded %d spans, want 1", len(ended))
	}
	return ended[0]
}

func TestContextWithTraceJoinsTheRequestsTrace(t *testing.T) {
	req := &ferryv1.HandleRequest{Trace: &ferryv1.TraceContext{Traceparent: testTraceparent, Tracestate: "ferry=1"}}
	span := startRecorded(t, ContextWithTrace(context.Background(), req), "handle")
	if got := span.SpanContext().TraceID().String(); got != testTraceID {
		t.Errorf("trace id %s, want %s", got, testTraceID)
	}
	if got := span.Parent().SpanID().String(); got != testParentID || !span.Parent().IsRemote() {
		t.Errorf("parent %s (remote %v), want remote %s", got, span.Parent().IsRemote(), testParentID)
	}
	if got := span.SpanContext().TraceState().Get("ferry"); got != "1" {
		t.Errorf("tracestate ferry=%q, want 1", got)
	}
}

func TestContextWithTraceStartsANewTraceWithoutAValidTraceparent(t *testing.T) {
	for _, tc := range []*ferryv1.TraceContext{
		nil,
		{},
		{Traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7"},    // no flags
		{Traceparent: "00-00000000000000000000000000000000-00f067aa0ba902b7-01"}, // zero trace id
		{Traceparent: "garbage"},
	} {
		span := startRecorded(t, ContextWithTrace(context.Background(), &ferryv1.HandleRequest{Trace: tc}), "handle")
		if span.Parent().IsValid() {
			t.Errorf("%v: span has parent %v; want a new trace", tc, span.Parent())
		}
		if got := span.SpanContext().TraceID().String(); got == testTraceID || !span.SpanContext().TraceID().IsValid() {
			t.Errorf("%v: trace id %s; want a new one", tc, got)
		}
	}
}

func TestContextWithTraceKeepsASpanAlreadyInTheContext(t *testing.T) {
	current := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID:    trace.TraceID{1},
		SpanID:     trace.SpanID{2},
		TraceFlags: trace.FlagsSampled,
	})
	ctx := trace.ContextWithSpanContext(context.Background(), current)
	req := &ferryv1.HandleRequest{Trace: &ferryv1.TraceContext{Traceparent: testTraceparent}}
	span := startRecorded(t, ContextWithTrace(ctx, req), "handle")
	if span.Parent().SpanID() != current.SpanID() || span.SpanContext().TraceID() != current.TraceID() {
		t.Errorf("parent %v; want the context's span %v", span.Parent(), current)
	}
}

// endedSpans is a span processor that hands every ended span to a channel, so a test can
// wait for the server span, which otelgrpc ends after the response is on its way.
type endedSpans chan sdktrace.ReadOnlySpan

func (endedSpans) OnStart(context.Context, sdktrace.ReadWriteSpan) {}
func (e endedSpans) OnEnd(s sdktrace.ReadOnlySpan)                 { e <- s }
func (endedSpans) Shutdown(context.Context) error                  { return nil }
func (endedSpans) ForceFlush(context.Context) error                { return nil }

// spanInHandler records the span context the handler sees.
type spanInHandler struct {
	ferryv1.UnimplementedWorkerServiceServer
	seen chan trace.SpanContext
}

func (h spanInHandler) Handle(ctx context.Context, req *ferryv1.HandleRequest) (*ferryv1.HandleResponse, error) {
	h.seen <- trace.SpanContextFromContext(ContextWithTrace(ctx, req))
	return Done(), nil
}

func TestServerSpanIsAChildOfTheTraceparentMetadata(t *testing.T) {
	ended := make(endedSpans, 16)
	provider := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(ended))
	previous := otel.GetTracerProvider()
	otel.SetTracerProvider(provider) // before ServeListener builds its stats handler
	t.Cleanup(func() { otel.SetTracerProvider(previous); _ = provider.Shutdown(context.Background()) })

	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	handler := spanInHandler{seen: make(chan trace.SpanContext, 1)}
	go func() { served <- ServeListener(ctx, lis, handler) }()
	defer func() {
		stop()
		if err := <-served; err != nil {
			t.Errorf("serve returned %v", err)
		}
	}()

	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	call, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	call = metadata.AppendToOutgoingContext(call, "traceparent", testTraceparent)
	// The request carries another trace: the server span, from the metadata, comes first.
	req := &ferryv1.HandleRequest{MessageId: "m1", Trace: &ferryv1.TraceContext{
		Traceparent: "00-11111111111111111111111111111111-2222222222222222-01"}}
	if _, err := ferryv1.NewWorkerServiceClient(conn).Handle(call, req); err != nil {
		t.Fatal(err)
	}
	inHandler := <-handler.seen

	var server sdktrace.ReadOnlySpan
	for server == nil {
		select {
		case s := <-ended:
			if s.SpanKind() == trace.SpanKindServer && s.Name() == "ferry.v1.WorkerService/Handle" {
				server = s
			}
		case <-call.Done():
			t.Fatal("no server span for Handle was recorded")
		}
	}
	if got := server.Parent().SpanID().String(); got != testParentID || !server.Parent().IsRemote() {
		t.Errorf("server span parent %s (remote %v), want remote %s", got, server.Parent().IsRemote(), testParentID)
	}
	if got := server.SpanContext().TraceID().String(); got != testTraceID {
		t.Errorf("server span trace id %s, want %s", got, testTraceID)
	}
	if inHandler.SpanID() != server.SpanContext().SpanID() {
		t.Errorf("handler context has span %s, want the server span %s", inHandler.SpanID(), server.SpanContext().SpanID())
	}
}

func TestSetupTracingInstallsAProviderOnlyWithAnEndpoint(t *testing.T) {
	previous := otel.GetTracerProvider()
	t.Cleanup(func() { otel.SetTracerProvider(previous) })

	t.Setenv(OTLPEndpointEnv, "")
	t.Setenv(OTLPTracesEndpointEnv, "")
	shutdown, err := SetupTracing(context.Background(), "test-worker")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := otel.GetTextMapPropagator().(propagation.TraceContext); !ok {
		t.Errorf("propagator %T, want propagation.TraceContext", otel.GetTextMapPropagator())
	}
	if _, ok := otel.GetTracerProvider().(*sdktrace.TracerProvider); ok {
		t.Error("an SDK provider was installed without an endpoint")
	}
	if err := shutdown(context.Background()); err != nil {
		t.Errorf("no-op shutdown: %v", err)
	}

	t.Setenv(OTLPEndpointEnv, "http://127.0.0.1:4317") // nothing is exported: no span is made
	shutdown, err = SetupTracing(context.Background(), "test-worker")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := otel.GetTracerProvider().(*sdktrace.TracerProvider); !ok {
		t.Errorf("provider %T, want the SDK's", otel.GetTracerProvider())
	}
	if err := shutdown(context.Background()); err != nil {
		t.Errorf("shutdown: %v", err)
	}
}
