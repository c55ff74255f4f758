package main

import (
	"strings"
	"testing"
)

func TestParseAveragesRunsAndKeepsOrder(t *testing.T) {
	in := `goos: linux
cpu: Intel(R) Xeon(R) Processor
BenchmarkParse/vllm/ours-2   	100	  2000 ns/op	 300 B/sample	 2.000 allocs/sample
BenchmarkParse/vllm/ours-2   	100	  4000 ns/op	 340 B/sample	 2.000 allocs/sample
BenchmarkGetDuringRefresh-2	1000	90.5 ns/op	70.00 p99-ns
some log line that is not a result
PASS
`
	results, order, header := parse(strings.NewReader(in))
	if got, want := strings.Join(order, ","), "BenchmarkParse/vllm/ours,BenchmarkGetDuringRefresh"; got != want {
		t.Fatalf("order: got %s, want %s", got, want)
	}
	ours := results["BenchmarkParse/vllm/ours"]
	if ours.runs != 2 || ours.metrics["ns/op"] != 3000 || ours.metrics["B/sample"] != 320 {
		t.Fatalf("ours: got %d runs %v, want 2 runs averaging 3000 ns/op and 320 B/sample", ours.runs, ours.metrics)
	}
	if got := results["BenchmarkGetDuringRefresh"].metrics["p99-ns"]; got != 70 {
		t.Fatalf("p99-ns: got %v, want 70", got)
	}
	if len(header) != 2 {
		t.Fatalf("header: got %v, want goos and cpu", header)
	}
}
