package e2e

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/podscrape/podscrape/internal/localcluster"
	"github.com/podscrape/podscrape/source"
	"github.com/podscrape/podscrape/source/pod"
)

const (
	loadPods = 1000
	loadCap  = 50
	// loadBytesPerSample bounds what one Refresh allocates per sample returned, in steady
	// state: parse, labels, results, and the discovery and HTTP work around them. It
	// catches a regression, not a tuning target (RELIABILITY.md has the measured value).
	loadBytesPerSample = 2 << 10
)

// createPods creates ready pods named pod-0000, ... at ips, a few at a time.
func createPods(t *testing.T, ns string, labels map[string]string, ips []string) {
	t.Helper()
	errs := make([]error, len(ips))
	limit := make(chan struct{}, 20)
	var wg sync.WaitGroup
	for i, ip := range ips {
		limit <- struct{}{}
		wg.Go(func() {
			defer func() { <-limit }()
			_, errs[i] = cp.CreatePod(context.Background(), localcluster.PodSpec{
				Namespace: ns, Name: fmt.Sprintf("pod-%04d", i), Labels: labels, IP: ip, Ready: true,
			})
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestLoad1000PodsUnderCap50 is not parallel: it measures the process' allocations,
// which other tests running alongside would add to. Sequential tests run before the
// parallel ones start.
func TestLoad1000PodsUnderCap50(t *testing.T) {
	begin := time.Now()
	ctx := context.Background()
	ns := newNamespace(t)
	vllm := fixture(t, "vllm-sim-metrics.txt")
	in := newInflight(loadCap)
	block := localcluster.NewAddressBlock()
	ips := make([]string, loadPods)
	for i := range ips {
		ips[i] = block.Next()
	}
	handler := in.handler(vllm)
	servers, err := localcluster.ServeAll(ips, func(string) http.Handler { return handler })
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range servers {
		t.Cleanup(func() { _ = s.Close() })
	}
	labels := map[string]string{"app": "load"}
	port := int32(servers[0].Port)
	if err := cp.CreateService(ctx, ns, "load", labels, port); err != nil {
		t.Fatal(err)
	}
	createPods(t, ns, labels, ips)
	setup := time.Since(begin)

	cfg := pod.PodScrapingSourceConfig{ServiceName: "load", ServiceNamespace: ns, MetricsPort: port, MaxConcurrentScrapes: loadCap}
	s := newSource(t, cfg)
	refreshAll := func() *source.MetricResult {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		results, err := s.Refresh(ctx, source.RefreshSpec{})
		if err != nil {
			t.Fatalf("Refresh: %v", err)
		}
		return results[pod.AllMetricsQuery]
	}
	refreshAll() // warm: connections dialled, strings interned, parsers pooled

	runtime.GC()
	before := readStats()
	start := time.Now()
	r := refreshAll()
	elapsed := time.Since(start)
	after := readStats()
	var heap runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&heap)

	if r.Error != nil {
		t.Fatalf("pod errors: %v", r.Error)
	}
	up := upByPod(r)
	healthy := 0
	for _, v := range up {
		if v == 1 {
			healthy++
		}
	}
	if len(up) != loadPods || healthy != loadPods {
		t.Fatalf("pods scraped: got %d with up 1 of %d, want all %d", healthy, len(up), loadPods)
	}
	perPod := sampleLines(vllm) + 3
	if len(r.Values) != loadPods*perPod {
		t.Fatalf("values: got %d, want %d (%d pods x %d)", len(r.Values), loadPods*perPod, loadPods, perPod)
	}
	in.mu.Lock()
	peak, requests := in.peak, in.requests
	in.mu.Unlock()
	if requests != 2*loadPods {
		t.Fatalf("requests over two refreshes: got %d, want %d", requests, 2*loadPods)
	}
	if peak != loadCap {
		t.Fatalf("peak requests in flight: got %d, want exactly the cap %d", peak, loadCap)
	}

	n := float64(len(r.Values))
	bytesPer := float64(after.bytes-before.bytes) / n
	allocsPer := float64(after.allocs-before.allocs) / n
	t.Logf("%d pods, cap %d: setup %s, steady Refresh %s for %d samples (%.0f samples/s); "+
		"%.0f B/sample and %.2f allocs/sample allocated (whole process: pods' servers and API client included); "+
		"live heap after GC with the result held %.0f B/sample; test %s so far",
		loadPods, loadCap, setup.Round(time.Millisecond), elapsed.Round(time.Millisecond), len(r.Values), n/elapsed.Seconds(),
		bytesPer, allocsPer, float64(heap.HeapAlloc)/n, time.Since(begin).Round(time.Millisecond))
	if bytesPer > loadBytesPerSample {
		t.Fatalf("allocated per sample: got %.0f B, want at most %d B", bytesPer, loadBytesPerSample)
	}
	runtime.KeepAlive(r)
}
