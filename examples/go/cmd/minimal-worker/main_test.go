package main

import (
	"os"
	"strings"
	"testing"
)

// TestDocsShowThisWorker keeps README.md's Go handler identical to this compiled one.
func TestDocsShowThisWorker(t *testing.T) {
	code, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	docs, err := os.ReadFile("../../../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(docs), "```go\n"+string(code)+"```") {
		t.Fatal("README.md must show cmd/minimal-worker/main.go exactly; copy it over")
	}
	if n := strings.Count(string(code), "\n"); n >= 60 {
		t.Fatalf("the minimal worker has %d lines; keep it under 60", n)
	}
}
