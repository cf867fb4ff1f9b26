// Package worker serves a ferry worker written in Go: an implementation of
// ferry.v1.WorkerService plus the standard grpc.health.v1.Health service, on the address
// ferry gives the child it starts (FERRY_WORKER_ADDR), with a graceful drain on SIGTERM,
// and OpenTelemetry tracing that joins the trace of each delivery (trace.go).
//
// It is the Go counterpart of what ferry-sdk's serve does for Rust workers, in about a
// hundred lines of plain grpc-go; copy it into your own worker or import it.
package worker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	ferryv1 "github.com/ferry-gateway/ferry/examples/go/gen/ferry/v1"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/otel/propagation"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// AddrEnv is the environment variable ferry sets, when it starts the worker as its child,
// to the host:port the worker must listen on.
const AddrEnv = "FERRY_WORKER_ADDR"

// DefaultAddr is the address used when AddrEnv is not set.
const DefaultAddr = "127.0.0.1:50051"

// MaxMessageBytes is the largest request or response the server accepts or sends (ferry's
// own limit for a HandleResponse with its follow-up messages).
const MaxMessageBytes = 64 << 20

// AddrFromEnv returns the host:port in FERRY_WORKER_ADDR (an http:// prefix is tolerated),
// or DefaultAddr when it is unset or empty.
func AddrFromEnv() (string, error) {
	value := strings.TrimSpace(os.Getenv(AddrEnv))
	if value == "" {
		return DefaultAddr, nil
	}
	addr := strings.TrimSuffix(strings.TrimPrefix(value, "http://"), "/")
	host, port, err := net.SplitHostPort(addr)
	if err == nil {
		_, err = strconv.ParseUint(port, 10, 16)
	}
	if err != nil || host == "" {
		return "", fmt.Errorf("%s=%q is not a host:port address", AddrEnv, value)
	}
	return addr, nil
}

// Serve listens on addr and serves handler until ctx is done (see ServeListener).
func Serve(ctx context.Context, addr string, handler ferryv1.WorkerServiceServer) error {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("cannot listen on %s: %w", addr, err)
	}
	return ServeListener(ctx, lis, handler)
}

// ServeListener serves handler and the health service on lis until ctx is done.
//
// Health reports SERVING for "ferry.v1.WorkerService" and for the whole server (""). When
// ctx is done, health turns NOT_SERVING, the server stops accepting calls (ferry hands
// such messages back without counting an attempt), the calls in flight run to completion,
// and ServeListener returns nil.
//
// Every call gets an OpenTelemetry server span (otelgrpc, from the global TracerProvider:
// a no-op unless SetupTracing or the program installed one), the child of the span in the
// call's W3C traceparent metadata, which ferry sends on Handle.
func ServeListener(ctx context.Context, lis net.Listener, handler ferryv1.WorkerServiceServer) error {
	server := grpc.NewServer(
		grpc.MaxRecvMsgSize(MaxMessageBytes),
		grpc.MaxSendMsgSize(MaxMessageBytes),
		grpc.StatsHandler(otelgrpc.NewServerHandler(otelgrpc.WithPropagators(propagation.TraceContext{}))),
	)
	healthServer := health.NewServer()
	healthServer.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	healthServer.SetServingStatus(ferryv1.WorkerService_ServiceDesc.ServiceName, healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(server, healthServer)
	ferryv1.RegisterWorkerServiceServer(server, handler)

	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		<-ctx.Done()
		healthServer.Shutdown() // every service NOT_SERVING, ends Watch streams
		server.GracefulStop()
	}()
	err := server.Serve(lis)
	if errors.Is(err, grpc.ErrServerStopped) {
		err = nil
	}
	if err != nil {
		return fmt.Errorf("gRPC server failed: %w", err)
	}
	<-stopped
	return nil
}

// Main runs a worker binary: serves handler on AddrFromEnv until SIGTERM or SIGINT and
// returns the process exit code (errors are written to stderr prefixed with name).
// Tracing is set up first (SetupTracing: spans are exported over OTLP only when
// OTEL_EXPORTER_OTLP_ENDPOINT is set) and shut down, flushing its spans, on exit.
//
//	func main() { os.Exit(worker.Main("my-worker", &MyWorker{})) }
func Main(name string, handler ferryv1.WorkerServiceServer) int {
	addr, err := AddrFromEnv()
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	shutdown, err := SetupTracing(context.Background(), name)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		return 1
	}
	defer func() {
		flush, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := shutdown(flush); err != nil {
			fmt.Fprintf(os.Stderr, "%s: tracing shutdown: %v\n", name, err)
		}
	}()
	if err := Serve(ctx, addr, handler); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		return 1
	}
	return 0
}
