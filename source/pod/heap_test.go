package pod

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/podscrape/podscrape/source"
)

// A pod whose label values change at every scrape (request IDs, generated names) must
// not grow the live heap without end: the source's interner forgets what it no longer
// sees. Measured on the live heap after a GC, between refreshes 8 and 32.
func TestRefreshHeapStaysFlatWithFreshLabelValues(t *testing.T) {
	if testing.Short() {
		t.Skip("measures the heap over many refreshes")
	}
	const series, warmup, measured = 2000, 8, 24
	pad := strings.Repeat("v", 980)
	var scrapes atomic.Int64
	ctx := context.Background()
	cfg := startHandlerPod(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		n := scrapes.Add(1)
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		var b strings.Builder
		for i := range series {
			fmt.Fprintf(&b, "requests{id=\"%s-%d-%d\"} 1\n", pad, n, i) // about 1 KB, new every scrape
		}
		_, _ = w.Write([]byte(b.String()))
	}))
	s, err := NewPodScrapingSource(ctx, cp.Client, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)

	refresh := func(times int) {
		for range times {
			r, err := s.Refresh(ctx, source.RefreshSpec{})
			if err != nil {
				t.Fatal(err)
			}
			if got := len(r[AllMetricsQuery].Values); got != series+3 {
				t.Fatalf("values: got %d, want %d", got, series+3)
			}
		}
	}
	liveHeap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	refresh(warmup)
	before := liveHeap()
	refresh(measured)
	after := liveHeap()
	// The interner holds at most two generations of internerGenerationBytes; what a
	// refresh itself keeps (the cached result) is the same before and after.
	const bound = 4 * internerGenerationBytes
	growth := int64(after) - int64(before)
	t.Logf("live heap: %d MiB after %d refreshes, %d MiB after %d more (%d new 1 KB label values each)",
		before>>20, warmup, after>>20, measured, series)
	if growth > bound {
		t.Fatalf("live heap grew %d MiB over %d refreshes of fresh label values, want at most %d MiB",
			growth>>20, measured, bound>>20)
	}
}
