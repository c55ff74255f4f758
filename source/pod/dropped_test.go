package pod

import (
	"context"
	"net/http"
	"runtime"
	"testing"
	"time"

	"github.com/podscrape/podscrape/internal/leakcheck"
	"github.com/podscrape/podscrape/source"
)

// TestSourceDroppedWithoutCloseIsCollected: the upstream guide never calls Close, so a
// controller following it drops the sources it replaces unclosed. Such a source, its
// history and its cache are collected at once, and nothing of it runs on but its pods'
// idle keep-alive connections, which the transport closes after 90 s idle
// (IdleConnTimeout): closing them here stands for that wait.
func TestSourceDroppedWithoutCloseIsCollected(t *testing.T) {
	_, cfg := startBodyPod(t, "m 1\n")
	scrapeOnePod(t, cfg) // the API client's connections exist before the baseline
	base := leakcheck.Take()
	collected := make(chan struct{})
	var transport *http.Transport
	func() {
		s, err := NewPodScrapingSource(context.Background(), cp.Client, cfg)
		if err != nil {
			t.Fatal(err)
		}
		s.QueryList().MustRegister(source.QueryTemplate{Name: "sum", Type: source.QueryTypePromQL, Template: "sum(m)"})
		for range 2 {
			if _, err := s.Refresh(context.Background(), source.RefreshSpec{}); err != nil {
				t.Fatal(err)
			}
		}
		if oldest, _ := s.HistorySpan(); s.Get("sum", nil) == nil || oldest.IsZero() {
			t.Fatal("after two refreshes: want a cached result and a history")
		}
		transport = s.transport
		runtime.AddCleanup(s, func(ch chan struct{}) { close(ch) }, collected)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for done := false; !done; {
		runtime.GC()
		select {
		case <-collected:
			done = true
		case <-time.After(10 * time.Millisecond): // polling the collector, with a deadline
			if time.Now().After(deadline) {
				t.Fatal("a source dropped without Close was not collected within 10s")
			}
		}
	}
	transport.CloseIdleConnections()
	leakcheck.Back(t, base, 1, 10*time.Second)
}
