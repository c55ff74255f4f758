package pod

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/podscrape/podscrape/internal/leakcheck"
	"github.com/podscrape/podscrape/internal/localcluster"
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

// TestDistinctParamsKeepTheHistoryNeedsBounded: a query whose params name the metric it
// reads ({{.metric}}), refreshed with a new name each time (a controller serving a
// CRD's metric field, for months): past maxFilledNames the history stores every metric
// for it, and the names it was given are no longer kept, one more with each refresh,
// each refresh copying, sorting and indexing all of them.
func TestDistinctParamsKeepTheHistoryNeedsBounded(t *testing.T) {
	cfg := startHandlerPod(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = w.Write([]byte("g 2\n"))
	}))
	s, err := NewPodScrapingSource(t.Context(), cp.Client, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	s.QueryList().MustRegister(source.QueryTemplate{Name: "q", Type: source.QueryTypePromQL, Template: `sum({{.metric}})`, Params: []string{"metric"}})
	const refreshes = 4 * maxFilledNames
	for i := range refreshes {
		_, _ = s.Refresh(t.Context(), source.RefreshSpec{Params: map[string]string{"metric": fmt.Sprintf("m%d", i)}})
	}
	_, needs, err := s.historyNeeds()
	if err != nil {
		t.Fatal(err)
	}
	if !needs.all {
		t.Errorf("after %d metric names: the history does not store every metric", refreshes)
	}
	s.history.mu.Lock()
	kept, gen := len(s.history.fills["q"].names), s.history.fillsGen
	s.history.mu.Unlock()
	if kept > maxFilledNames+1 || len(needs.names) > maxFilledNames+1 || gen > maxFilledNames+2 {
		t.Errorf("after %d metric names: %d kept for q, %d in the history's needs, needs computed %d times; want at most %d",
			refreshes, kept, len(needs.names), gen, maxFilledNames+1)
	}
	// Every metric is stored: a name never given before is answered.
	r, err := s.Refresh(t.Context(), source.RefreshSpec{Params: map[string]string{"metric": "g"}})
	if err != nil {
		t.Fatal(err)
	}
	if q := r["q"]; q.Error != nil || q.FirstValue().Value != 2 {
		t.Errorf("sum(g) after every metric is stored: %v, %v; want 2", q.Values, q.Error)
	}
}

// TestCloseDuringARefreshLeavesNoConnection: a source closed while a Refresh still waits
// for its pod (a controller dropping the Service while another goroutine refreshes it)
// keeps no connection once that Refresh ends: the one it used is not kept idle for the
// transport's 90 s.
func TestCloseDuringARefreshLeavesNoConnection(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	cfg := startHandlerPod(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		entered <- struct{}{}
		<-release
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = w.Write([]byte("g 2\n"))
	}))
	base := leakcheck.Take()
	s, err := NewPodScrapingSource(t.Context(), cp.Client, cfg)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := s.Refresh(t.Context(), source.RefreshSpec{})
		done <- err
	}()
	<-entered
	s.Close()
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	leakcheck.Back(t, base, 1, 10*time.Second)
}

// TestCloseBeforeAScrapeStartsLeavesNoConnection: a source closed while its Refresh has
// not yet sent every request (here a pod waits for the one slot of MaxConcurrentScrapes
// 1; so does every pod of a Refresh still discovering them) keeps no connection once
// that Refresh ends. A request sent after Close undid the transport's closing of newly
// idle connections: the pods scraped then were kept connected, two goroutines each, for
// the transport's 90 s idle timeout, by a source nobody uses, and so after every later
// Refresh of a closed source (a handler still holding a replaced one).
func TestCloseBeforeAScrapeStartsLeavesNoConnection(t *testing.T) {
	ctx := t.Context()
	ns := fmt.Sprintf("close-before-%d", runs.Add(1))
	if err := cp.CreateNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	block := localcluster.NewAddressBlock()
	ips := []string{block.Next(), block.Next()}
	held := ips[0]
	port, sel := servePods(t, ctx, ns, "pod", ips, func(ip string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			if ip == held {
				entered <- struct{}{}
				<-release
			}
			okPod(w, nil)
		})
	})
	for i, ip := range ips {
		if _, err := cp.CreatePod(ctx, localcluster.PodSpec{Namespace: ns, Name: fmt.Sprintf("p-%d", i), Labels: sel, IP: ip, Ready: true}); err != nil {
			t.Fatal(err)
		}
	}
	base := leakcheck.Take()
	s, err := NewPodScrapingSource(ctx, cp.Client, PodScrapingSourceConfig{ServiceName: "pod", ServiceNamespace: ns, MetricsPort: port, MaxConcurrentScrapes: 1})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := s.Refresh(ctx, source.RefreshSpec{})
		done <- err
	}()
	<-entered // p-0 holds the slot: p-1's request is sent after Close
	s.Close()
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	leakcheck.Back(t, base, 1, 10*time.Second)

	// A Refresh of the closed source keeps none either.
	mustRefresh(t, s)
	leakcheck.Back(t, base, 1, 10*time.Second)
}
