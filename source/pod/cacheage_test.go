package pod

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/podscrape/podscrape/source"
)

// TestCacheAgeCountsOnlyWhatWasStored: podscrape_cache_age_seconds is the seconds since
// a refresh last stored results in the cache. The scrape loop of a source whose only
// metric-name query is all_metrics (left to Refresh) and whose PromQL results only
// Refresh caches stores nothing: its scrapes must not reset the age, else an alert on
// the age never fires while Get answers nil to a controller that stopped refreshing.
func TestCacheAgeCountsOnlyWhatWasStored(t *testing.T) {
	var requests atomic.Int64
	cfg := startHandlerPod(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		requests.Add(1)
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = w.Write([]byte("m 1\n"))
	}))
	clk := clocktesting.NewFakeClock(time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC))
	reg := prometheus.NewRegistry()
	cfg.Clock = clk
	cfg.Registerer = reg
	cfg.ScrapeInterval = 15 * time.Second
	s, err := NewPodScrapingSource(context.Background(), cp.Client, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	s.QueryList().MustRegister(source.QueryTemplate{Name: "sum_m", Type: source.QueryTypePromQL, Template: "sum(m)"})
	age := func() float64 {
		t.Helper()
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() == "podscrape_cache_age_seconds" {
				return mf.GetMetric()[0].GetGauge().GetValue()
			}
		}
		t.Fatal("no podscrape_cache_age_seconds")
		return 0
	}

	clk.Step(100 * time.Second)
	startLoop(t, s)
	// Wait until the loop's scrape has finished as a whole (its caller gone from the run).
	deadline := time.Now().Add(30 * time.Second)
	for running, next := s.flights.Waiters(); running+next > 0 || requests.Load() == 0; running, next = s.flights.Waiters() {
		if time.Now().After(deadline) {
			t.Fatal("the loop's scrape did not finish within 30s")
		}
		time.Sleep(time.Millisecond) // polling the loop's progress with a deadline
	}
	if got := s.Get("sum_m", nil); got != nil {
		t.Fatalf("Get(sum_m) before any Refresh: %v, want nil", got.Result)
	}
	if got := age(); got != 100 {
		t.Errorf("cache age after a loop scrape that stored nothing: %v, want 100 (since the source was made)", got)
	}

	// A Refresh that stores its results resets it.
	if _, err := s.Refresh(context.Background(), source.RefreshSpec{Queries: []string{"sum_m"}}); err != nil {
		t.Fatal(err)
	}
	if got := s.Get("sum_m", nil); got == nil {
		t.Fatal("Get(sum_m) after Refresh: nil, want its result")
	}
	if got := age(); got != 0 {
		t.Errorf("cache age after a Refresh stored sum_m: %v, want 0", got)
	}
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) != 0 {
		t.Errorf("lint: %v %v", problems, err)
	}
}
