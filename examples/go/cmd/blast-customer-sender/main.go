// Command blast-customer-sender is the BlastCustomerSender worker in Go. Run it under
// ferry, which gives it its address in FERRY_WORKER_ADDR:
//
//	ferry run --config ferry.toml -- ./blast-customer-sender
//
// It reads BLAST_DATA (the directory JSON), and appends to BLAST_OUTBOX and
// BLAST_ACTIVITIES (JSON lines), like the Rust worker.
package main

import (
	"os"

	"github.com/ferry-gateway/ferry/examples/go/blast"
	"github.com/ferry-gateway/ferry/examples/go/worker"
)

func main() {
	os.Exit(worker.Main("blast-customer-sender", blast.FromEnv()))
}
