package pod

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/podscrape/podscrape/internal/leakcheck"
	"github.com/podscrape/podscrape/source"
)

// TestCloseStopsTheScrapeLoop: a controller that rebuilds a source (SourceRegistry.Update,
// then Close of the one replaced) or drops it when its Service goes, with the loop run by
// a manager (mgr.Add(src)) it cannot stop, closes the source. Close ends the loop: Start
// returns, its scrape in progress cancelled, and nothing of it is left running; the pods
// get no more requests. A Start after Close returns at once, scraping nothing.
func TestCloseStopsTheScrapeLoop(t *testing.T) {
	var requests atomic.Int64
	arrived := make(chan struct{}, 10)
	cfg := startHandlerPod(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if requests.Add(1) == 1 {
			w.Header().Set("Content-Type", "text/plain; version=0.0.4")
			_, _ = w.Write([]byte("m 1\n"))
			return
		}
		arrived <- struct{}{}
		<-r.Context().Done() // the loop's second scrape answers nothing until cancelled
	}))
	cfg.ScrapeInterval = 50 * time.Millisecond
	scrapeOnePod(t, cfg) // the API client's connections exist before the baseline
	requests.Store(0)
	base := leakcheck.Take()

	s, err := NewPodScrapingSource(t.Context(), cp.Client, cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.QueryList().MustRegister(source.QueryTemplate{Name: "m", Type: source.QueryTypeMetricName, Template: "m"})
	done := make(chan error, 1)
	go func() { done <- s.Start(t.Context()) }() // a context that outlives the source
	select {
	case <-arrived: // the loop's second scrape is in flight
	case err := <-done:
		t.Fatalf("Start returned %v before its second scrape", err)
	case <-time.After(30 * time.Second):
		t.Fatal("the loop's second scrape did not reach the pod within 30s")
	}
	closed := make(chan struct{})
	go func() {
		s.Close()
		close(closed)
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Start after Close: %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Start still runs 10s after Close: the closed source keeps scraping its pods")
	}
	<-closed
	seen := requests.Load()
	leakcheck.Back(t, base, 1, 10*time.Second)
	if got := requests.Load(); got != seen {
		t.Fatalf("the pod got %d requests after the source was closed", got-seen)
	}

	again := make(chan error, 1)
	go func() { again <- s.Start(t.Context()) }()
	select {
	case err := <-again:
		if err != nil {
			t.Fatalf("Start of a closed source: %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Start of a closed source still runs after 10s")
	}
	if got := requests.Load(); got != seen {
		t.Fatalf("Start of a closed source: the pod got %d requests, want none", got-seen)
	}
	s.Close() // twice: no harm
}

// TestCancelledRefreshLeavesTheLoopsScrapeAnswering: while the loop runs, a PromQL
// Refresh answers from its last scrape. A Refresh that started a scrape of its own and
// gave up (its deadline before a hung pod's ScrapeTimeout) is no failure of the Service:
// the next PromQL Refresh still answers from the loop's scrape, without a request, instead
// of scraping itself, waiting for the hung pod and giving up in turn.
func TestCancelledRefreshLeavesTheLoopsScrapeAnswering(t *testing.T) {
	var hang atomic.Bool
	var requests atomic.Int64
	arrived := make(chan struct{}, 10)
	cfg := startHandlerPod(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		if hang.Load() {
			arrived <- struct{}{}
			<-r.Context().Done()
			return
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = w.Write([]byte("m 1\n"))
	}))
	cfg.ScrapeInterval, cfg.HistoryRetention = time.Hour, 2*time.Hour // the loop scrapes once, at its start
	s, err := NewPodScrapingSource(t.Context(), cp.Client, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	s.QueryList().MustRegister(source.QueryTemplate{Name: "sum_m", Type: source.QueryTypePromQL, Template: "sum(m)"})
	startLoop(t, s)
	promql := source.RefreshSpec{Queries: []string{"sum_m"}}
	if r, err := s.Refresh(t.Context(), promql); err != nil || r["sum_m"].Error != nil {
		t.Fatalf("from the loop's scrape: %v, %v", r["sum_m"], err)
	}

	hang.Store(true)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, err := s.Refresh(ctx, source.RefreshSpec{Queries: []string{AllMetricsQuery}})
		done <- err
	}()
	<-arrived
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Refresh: %v, want context.Canceled", err)
	}

	before := requests.Load()
	r, err := s.Refresh(t.Context(), promql)
	if err != nil || r["sum_m"].Error != nil || r["sum_m"].FirstValue().Value != 1 {
		t.Fatalf("after a cancelled Refresh, from the loop's scrape: %v, %v; want 1", r["sum_m"], err)
	}
	if got := requests.Load() - before; got != 0 {
		t.Fatalf("after a cancelled Refresh: the PromQL Refresh sent %d requests, want none (the loop's scrape answers it)", got)
	}
}
