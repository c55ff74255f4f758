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

// TestClosedSourcesLeaveNothingRunning: a controller makes a source per Service it
// reconciles and closes it when the Service goes, for months. 50 sources, each with its
// scrape loop, Refreshes of every kind (a PromQL history among them), ScrapeSeries and a
// Refresh cancelled while its pod has not answered, are stopped and closed: every
// goroutine they started has ended and every connection to the pods is closed (the
// goroutines and open fds are back to what they were, on both ends of the loopback
// connections), with no wait for the transports' 90 s idle timeout.
func TestClosedSourcesLeaveNothingRunning(t *testing.T) {
	fast := startHandlerPod(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = w.Write([]byte("# TYPE m counter\nm_total{a=\"1\"} 1\ng 2\n"))
	}))
	var hungRequests atomic.Int64
	hung := startHandlerPod(t, http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		hungRequests.Add(1)
		<-r.Context().Done() // answers nothing until the scraper gives up
	}))
	// The API client's connections and the pods' listeners exist before the baseline.
	scrapeOnePod(t, fast)
	base := leakcheck.Take()

	const n = 50
	sources := make([]*PodScrapingSource, 0, n)
	stops := make([]func(), 0, n)
	for range n {
		cfg := fast
		cfg.ScrapeInterval = 50 * time.Millisecond
		s, err := NewPodScrapingSource(t.Context(), cp.Client, cfg)
		if err != nil {
			t.Fatal(err)
		}
		s.QueryList().MustRegister(source.QueryTemplate{Name: "rate", Type: source.QueryTypePromQL, Template: `sum(rate(m_total[1m]))`})
		s.QueryList().MustRegister(source.QueryTemplate{Name: "g", Type: source.QueryTypeMetricName, Template: "g"})
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- s.Start(ctx) }()
		sources = append(sources, s)
		stops = append(stops, func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Start: %v", err)
			}
		})
	}
	for _, s := range sources {
		if _, err := s.Refresh(t.Context(), source.RefreshSpec{}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ScrapeSeries(t.Context()); err != nil {
			t.Fatal(err)
		}
	}

	// A Refresh cancelled while its pod has not answered.
	h, err := NewPodScrapingSource(t.Context(), cp.Client, hung)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	refreshed := make(chan error, 1)
	go func() {
		_, err := h.Refresh(ctx, source.RefreshSpec{})
		refreshed <- err
	}()
	deadline := time.Now().Add(30 * time.Second)
	for hungRequests.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the hung pod got no request within 30s")
		}
		time.Sleep(time.Millisecond) // polling the pod's requests, with a deadline
	}
	cancel()
	if err := <-refreshed; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Refresh: %v, want context.Canceled", err)
	}
	h.Close()

	for i, s := range sources {
		stops[i]()
		s.Close()
	}
	leakcheck.Back(t, base, 5, 10*time.Second)
}
