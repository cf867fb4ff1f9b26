// Command conformance-worker serves the conformance reference behaviour on
// FERRY_WORKER_ADDR (default 127.0.0.1:50051). Check it with
//
//	ferry conformance --worker 127.0.0.1:50051
package main

import (
	"os"

	"github.com/ferry-gateway/ferry/examples/go/conformance"
	"github.com/ferry-gateway/ferry/examples/go/worker"
)

func main() {
	os.Exit(worker.Main("conformance-worker", conformance.Reference{}))
}
