package e2e

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	"github.com/podscrape/podscrape/source"
	"github.com/podscrape/podscrape/source/pod"
)

func TestCacheServesUntilTTLThenExpires(t *testing.T) {
	t.Parallel()
	f := startService(t, podDef{name: "p", handler: serve([]byte("m 1\n"))})
	clk := clocktesting.NewFakePassiveClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	cfg := f.config()
	cfg.DefaultTTL = 10 * time.Second
	cfg.Clock = clk
	s := newSource(t, cfg)

	if got := s.Get(pod.AllMetricsQuery, nil); got != nil {
		t.Fatalf("Get before any refresh: got %v, want nil", got)
	}
	r := mustRefresh(t, s)
	if !r.CollectedAt.Equal(clk.Now()) {
		t.Fatalf("CollectedAt: got %v, want the clock's %v", r.CollectedAt, clk.Now())
	}
	clk.SetTime(clk.Now().Add(9 * time.Second))
	cached := s.Get(pod.AllMetricsQuery, map[string]string{"ignored": "param"})
	if cached == nil || cached.IsExpired() || cached.Age() != 9*time.Second {
		t.Fatalf("Get at 9s of a 10s TTL: got %+v, want an unexpired value aged 9s", cached)
	}
	if len(cached.Result.Values) != len(r.Values) {
		t.Fatalf("cached values: got %d, want %d", len(cached.Result.Values), len(r.Values))
	}
	clk.SetTime(clk.Now().Add(time.Second))
	if got := s.Get(pod.AllMetricsQuery, nil); got != nil {
		t.Fatalf("Get at 10s of a 10s TTL: got %v, want nil", got)
	}
	if !cached.IsExpired() {
		t.Fatal("IsExpired of the value held since 9s: got false, want true")
	}
}

func TestCacheGetNeverWaitsForRefreshInFlight(t *testing.T) {
	t.Parallel()
	var block atomic.Bool
	arrived := make(chan struct{}, 1)
	unblock := make(chan struct{})
	f := startService(t, podDef{name: "p", handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if block.Load() {
			arrived <- struct{}{}
			select {
			case <-unblock:
			case <-r.Context().Done():
			}
		}
		w.Header().Set("Content-Type", textFormat)
		_, _ = w.Write([]byte("m 1\n"))
	})})
	cfg := f.config()
	cfg.ScrapeTimeout = time.Minute
	s := newSource(t, cfg)
	first := mustRefresh(t, s)

	block.Store(true)
	done := make(chan error, 1)
	go func() {
		_, err := s.Refresh(context.Background(), sourceSpec())
		done <- err
	}()
	<-arrived // the second refresh is now in flight, stuck in the pod

	got := make(chan bool, 1)
	go func() {
		c := s.Get(pod.AllMetricsQuery, nil)
		got <- c != nil && c.Result.CollectedAt.Equal(first.CollectedAt)
	}()
	select {
	case ok := <-got:
		if !ok {
			t.Fatal("Get during a refresh: want the previous result")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Get waited for the refresh in flight")
	}
	close(unblock)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// The scenario: Refresh({}) and Refresh({Queries: [all_metrics]}) issued together
// (with a second query registered, so their query sets differ). They share one scrape of
// the pod, both get the same data, and the cache holds it: it never goes back to older
// data than a caller was given.
func TestCacheConcurrentRefreshesOfDifferentQueriesShareOneScrape(t *testing.T) {
	t.Parallel()
	var requests atomic.Int32
	first := make(chan struct{})  // the first request arrived
	second := make(chan struct{}) // a second request arrived: the pod got two at once
	joined := make(chan struct{}) // the second refresh has been called
	f := startService(t, podDef{name: "p", handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := requests.Add(1)
		switch n {
		case 1:
			close(first)
			// Held until a second request arrives, or shortly after the second refresh
			// was called, which is then waiting on this scrape.
			<-joined
			select {
			case <-second:
			case <-time.After(time.Second):
			case <-r.Context().Done():
			}
		case 2:
			close(second)
		}
		w.Header().Set("Content-Type", textFormat)
		_, _ = fmt.Fprintf(w, "gen %d\nqueue %d\n", n, n)
	})})
	s := newSource(t, f.config())
	s.QueryList().MustRegister(source.QueryTemplate{Name: "queue", Type: source.QueryTypeMetricName, Template: "queue"})

	gen := func(r *source.MetricResult) float64 {
		if vs := samples(r, "gen")["p"]; len(vs) == 1 {
			return vs[0].Value
		}
		t.Fatalf("gen: got %v, want one sample", r.Values)
		return 0
	}
	var wg sync.WaitGroup
	var all, one map[string]*source.MetricResult
	var allErr, oneErr error
	wg.Go(func() { all, allErr = refresh(t, s) })
	<-first
	wg.Go(func() {
		close(joined)
		one, oneErr = refresh(t, s, pod.AllMetricsQuery)
	})
	wg.Wait()
	if allErr != nil || oneErr != nil {
		t.Fatalf("Refresh: got %v and %v, want no errors", allErr, oneErr)
	}
	if n := requests.Load(); n != 1 {
		t.Fatalf("requests for Refresh({}) and Refresh(all_metrics) together: got %d, want 1 shared scrape", n)
	}
	a, b := gen(all[pod.AllMetricsQuery]), gen(one[pod.AllMetricsQuery])
	if a != b {
		t.Fatalf("generations: Refresh({}) got %v, Refresh(all_metrics) got %v; want the same scrape", a, b)
	}
	cached := s.Get(pod.AllMetricsQuery, nil)
	if cached == nil || gen(&cached.Result) != max(a, b) {
		t.Fatalf("cached all_metrics: got %v, want generation %v, the newest a caller got", cached, max(a, b))
	}
	if q := s.Get("queue", nil); q == nil || !q.Result.CollectedAt.Equal(cached.Result.CollectedAt) {
		t.Fatalf("cached queue: got %v, want the same scrape's", q)
	}
	// Each caller's map is its own (docs/library.md) and holds what it asked for: changing
	// one changes neither the other's nor the cache.
	if _, ok := one["queue"]; ok || len(one) != 1 {
		t.Fatalf("Refresh(all_metrics) returned %d results, want only all_metrics", len(one))
	}
	delete(all, pod.AllMetricsQuery)
	if one[pod.AllMetricsQuery] == nil || s.Get(pod.AllMetricsQuery, nil) == nil {
		t.Fatal("a key deleted from one caller's map went from the other's or from the cache")
	}
}

// The TTL counts from when the refresh stored the result, not from when its collection
// started (docs/library.md, Caching): a refresh whose pod took 5s to answer is served for
// the whole DefaultTTL after it returned, CachedAt being the end of the refresh and
// CollectedAt its start.
func TestCacheTTLCountsFromTheStore(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clk := clocktesting.NewFakePassiveClock(t0)
	f := startService(t, podDef{name: "p", handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		clk.SetTime(t0.Add(5 * time.Second)) // the pod takes 5s to answer
		w.Header().Set("Content-Type", textFormat)
		_, _ = w.Write([]byte("m 1\n"))
	})})
	cfg := f.config()
	cfg.DefaultTTL = 10 * time.Second
	cfg.Clock = clk
	s := newSource(t, cfg)
	r := mustRefresh(t, s)
	if !r.CollectedAt.Equal(t0) {
		t.Fatalf("CollectedAt: got %v, want the start of the refresh, %v", r.CollectedAt, t0)
	}
	c := s.Get(pod.AllMetricsQuery, nil)
	if c == nil || !c.CachedAt.Equal(t0.Add(5*time.Second)) || !c.ExpiresAt.Equal(t0.Add(15*time.Second)) {
		t.Fatalf("Get after the refresh: got %v, want CachedAt at its end (+5s) and ExpiresAt 10s later", c)
	}
	clk.SetTime(t0.Add(15*time.Second - time.Millisecond))
	if s.Get(pod.AllMetricsQuery, nil) == nil {
		t.Fatal("Get 1ms before CachedAt plus the TTL: got nil, want the value")
	}
	clk.SetTime(t0.Add(15 * time.Second))
	if got := s.Get(pod.AllMetricsQuery, nil); got != nil {
		t.Fatalf("Get at CachedAt plus the TTL: got a value cached at %v, want nil", got.CachedAt)
	}
}
