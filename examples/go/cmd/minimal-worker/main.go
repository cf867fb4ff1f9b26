// Command minimal-worker is the smallest ferry worker in Go (README.md): one Handle
// method and the standard health service, on the address ferry passes in FERRY_WORKER_ADDR.
package main

import (
	"context"
	"encoding/json"
	"log"
	"net"
	"os"

	ferryv1 "github.com/ferry-gateway/ferry/examples/go/gen/ferry/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

type worker struct {
	ferryv1.UnimplementedWorkerServiceServer
}

func (worker) Handle(_ context.Context, req *ferryv1.HandleRequest) (*ferryv1.HandleResponse, error) {
	var order struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(req.GetPayload(), &order); err != nil {
		// Never processable: ferry moves it to the error queue with this reason.
		return &ferryv1.HandleResponse{Outcome: &ferryv1.HandleResponse_DeadLetter{
			DeadLetter: &ferryv1.DeadLetter{Reason: err.Error()}}}, nil
	}
	// Done: ferry acks the message; the log line gets the standard shape and context.
	line := &ferryv1.LogLine{Level: ferryv1.LogLevel_LOG_LEVEL_INFO, Message: "order " + order.ID + " received"}
	return &ferryv1.HandleResponse{
		Outcome: &ferryv1.HandleResponse_Done{Done: &ferryv1.Done{}},
		Logs:    []*ferryv1.LogLine{line},
	}, nil
}

func main() {
	addr := os.Getenv("FERRY_WORKER_ADDR")
	if addr == "" {
		addr = "127.0.0.1:50051"
	}
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		log.Fatal(err)
	}
	server := grpc.NewServer()
	ferryv1.RegisterWorkerServiceServer(server, worker{})
	healthpb.RegisterHealthServer(server, health.NewServer()) // reports "" as SERVING
	log.Fatal(server.Serve(lis))
}
