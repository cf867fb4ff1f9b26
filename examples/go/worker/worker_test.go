package worker

import (
	"context"
	"net"
	"testing"
	"time"

	ferryv1 "github.com/ferry-gateway/ferry/examples/go/gen/ferry/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

type echoLen struct {
	ferryv1.UnimplementedWorkerServiceServer
}

func (echoLen) Handle(_ context.Context, req *ferryv1.HandleRequest) (*ferryv1.HandleResponse, error) {
	if len(req.GetPayload()) == 0 {
		return DeadLetter("empty"), nil
	}
	return Retry("later", 1500*time.Millisecond, Info("seen", map[string]string{"id": req.GetMessageId()})), nil
}

func TestServeAnswersHandleAndHealthThenStops(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- ServeListener(ctx, lis, echoLen{}) }()

	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	call, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, name := range []string{"", "ferry.v1.WorkerService"} {
		resp, err := healthpb.NewHealthClient(conn).Check(call, &healthpb.HealthCheckRequest{Service: name})
		if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Fatalf("health %q: %v %v", name, resp, err)
		}
	}
	resp, err := ferryv1.NewWorkerServiceClient(conn).Handle(call, &ferryv1.HandleRequest{Payload: []byte("x"), MessageId: "m1"})
	if err != nil {
		t.Fatal(err)
	}
	if r := resp.GetRetry(); r.GetReason() != "later" || r.GetDelay().AsDuration() != 1500*time.Millisecond {
		t.Fatalf("retry %v", resp)
	}
	if l := resp.GetLogs(); len(l) != 1 || l[0].GetFields()["id"] != "m1" || l[0].GetLevel() != ferryv1.LogLevel_LOG_LEVEL_INFO {
		t.Fatalf("logs %v", l)
	}
	stop()
	if err := <-served; err != nil {
		t.Fatalf("serve returned %v", err)
	}
}

func TestAddrFromEnv(t *testing.T) {
	for value, want := range map[string]string{
		"":                       DefaultAddr,
		"127.0.0.1:7000":         "127.0.0.1:7000",
		"http://127.0.0.1:7001/": "127.0.0.1:7001",
	} {
		t.Setenv(AddrEnv, value)
		if got, err := AddrFromEnv(); err != nil || got != want {
			t.Errorf("%q: got %q, %v; want %q", value, got, err, want)
		}
	}
	for _, bad := range []string{"7000", "127.0.0.1:http", ":7000", "127.0.0.1:70000"} {
		t.Setenv(AddrEnv, bad)
		if _, err := AddrFromEnv(); err == nil {
			t.Errorf("%q must be refused", bad)
		}
	}
}
