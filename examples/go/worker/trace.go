// Tracing for ferry workers in Go: the W3C trace context that ferry sends with each
// delivery (the Handle call's traceparent metadata and the request's trace field) becomes
// the parent of the worker's OpenTelemetry spans, and an OTLP exporter is installed only
// when OTEL_EXPORTER_OTLP_ENDPOINT asks for one.

package worker

import (
	"context"
	"fmt"
	"os"
	"strings"

	ferryv1 "github.com/ferry-gateway/ferry/examples/go/gen/ferry/v1"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// The environment variables that turn the OTLP trace exporter on (either one; the
// exporter reads them, and the other OTEL_EXPORTER_OTLP_* settings, itself).
const (
	OTLPEndpointEnv       = "OTEL_EXPORTER_OTLP_ENDPOINT"
	OTLPTracesEndpointEnv = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
)

// ContextWithTrace returns ctx carrying the request's trace context (req.trace, W3C
// traceparent and tracestate: ferry's delivery span) as the remote parent, so that spans
// the handler starts from it join the message's trace:
//
//	ctx = worker.ContextWithTrace(ctx, req)
//	ctx, span := tracer.Start(ctx, "charge card")
//	defer span.End()
//
// ctx is returned unchanged when it already has a valid span (served by ServeListener,
// the gRPC server span, itself a child of ferry's span, is there already) or when the
// request has no valid traceparent (spans started from it then begin a new trace).
func ContextWithTrace(ctx context.Context, req *ferryv1.HandleRequest) context.Context {
	if trace.SpanContextFromContext(ctx).IsValid() {
		return ctx
	}
	tc := req.GetTrace()
	if tc.GetTraceparent() == "" {
		return ctx
	}
	carrier := propagation.MapCarrier{"traceparent": tc.GetTraceparent()}
	if tc.GetTracestate() != "" {
		carrier["tracestate"] = tc.GetTracestate()
	}
	return propagation.TraceContext{}.Extract(ctx, carrier)
}

// SetupTracing sets the global propagator to W3C TraceContext and, only when
// OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set, installs a
// global SDK TracerProvider that exports spans over OTLP/gRPC, with service.name set to
// name unless OTEL_SERVICE_NAME says otherwise. Without an endpoint no provider is
// installed and spans are no-ops. The returned shutdown flushes and stops the provider
// (a no-op without one); call it before exiting.
func SetupTracing(ctx context.Context, name string) (shutdown func(context.Context) error, err error) {
	otel.SetTextMapPropagator(propagation.TraceContext{})
	noop := func(context.Context) error { return nil }
	if strings.TrimSpace(os.Getenv(OTLPEndpointEnv)) == "" && strings.TrimSpace(os.Getenv(OTLPTracesEndpointEnv)) == "" {
		return noop, nil
	}
	exporter, err := otlptracegrpc.New(ctx)
	if err != nil {
		return noop, fmt.Errorf("cannot create the OTLP trace exporter: %w", err)
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(attribute.String("service.name", name)),
		resource.WithFromEnv(), // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win
		resource.WithTelemetrySDK(),
	)
	if err != nil {
		_ = exporter.Shutdown(ctx)
		return noop, fmt.Errorf("cannot build the trace resource: %w", err)
	}
	provider := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exporter), sdktrace.WithResource(res))
	otel.SetTracerProvider(provider)
	return provider.Shutdown, nil
}
