package serve_test

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/podscrape/podscrape/podscrapetest"
	"github.com/podscrape/podscrape/serve"
)

// BenchmarkScrape200Pods measures one scrape of a Service of 200 loopback vLLM pods (the
// vLLM fixture) into serve's history, as a query under a MaxAge that every scrape has
// outlived asks for it: the scrape, the conversion of its samples to series and the
// history's append, plus a query of one series per pod. cpu-ms/op is the process' CPU
// time per scrape, the 200 pods' HTTP servers (in this process) included.
//
//	go test ./serve -run '^$' -bench Scrape200Pods -benchtime 20x -cpuprofile cpu.out
func BenchmarkScrape200Pods(b *testing.B) {
	fixture, err := os.ReadFile(filepath.Join("..", "testdata", "vllm-sim-metrics.txt"))
	if err != nil {
		b.Fatal(err)
	}
	svc, err := env.NewService(b.Context(), podscrapetest.ServiceOptions{Name: "bench", Pods: 200, Body: string(fixture)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = svc.Close() })
	base := startServer(b, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}, MaxAge: time.Nanosecond})
	u := base + "/api/v1/query?" + url.Values{"query": {"count(up)"}}.Encode()
	b.ReportAllocs()
	cpu0 := cpuTime(b)
	for b.Loop() {
		resp, err := http.Get(u)
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
	b.ReportMetric(float64((cpuTime(b)-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
}

// cpuTime is the CPU time the process has used so far, the pods' servers included.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
