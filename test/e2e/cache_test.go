package e2e

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

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
