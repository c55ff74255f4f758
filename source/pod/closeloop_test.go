package pod

import (
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
