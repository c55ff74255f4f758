package prometheus

import (
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/podscrape/podscrape/source"
)

// TestMaxConcurrentQueriesBoundsARefresh holds PrometheusSourceConfig.MaxConcurrentQueries
// to what docs/backends.md says: one Refresh has at most that many queries in flight on
// the server, and does send that many at once. The server holds every query until the
// test releases one, so each next query can only be sent when an earlier one answered.
func TestMaxConcurrentQueriesBoundsARefresh(t *testing.T) {
	const limit, queries = 3, 10
	var mu sync.Mutex // protects inflight, most
	inflight, most := 0, 0
	release := make(chan struct{})
	srv := newAPIServer(t, func(w http.ResponseWriter, r *http.Request, _ string, _ int) {
		mu.Lock()
		inflight++
		most = max(most, inflight)
		mu.Unlock()
		select {
		case <-release:
		case <-r.Context().Done():
		}
		mu.Lock()
		inflight--
		mu.Unlock()
		writeJSON(w, http.StatusOK, vectorOf(1, "1"))
	})
	cfg := fastConfig()
	cfg.MaxConcurrentQueries = limit
	s := NewPrometheusSource(t.Context(), srv.api(t, ClientConfig{}), cfg)
	for i := range queries {
		register(t, s, fmt.Sprintf("q%d", i))
	}
	out := refreshAsync(t.Context(), s, source.RefreshSpec{})
	for done := range queries {
		want := min(limit, queries-done)
		eventually(t, fmt.Sprintf("%d queries in flight", want), func() bool {
			mu.Lock()
			defer mu.Unlock()
			return inflight >= want
		})
		release <- struct{}{}
	}
	if o := <-out; o.err != nil || len(o.results) != queries {
		t.Fatalf("Refresh: got %d results, error %v; want %d and none", len(o.results), o.err, queries)
	}
	if most != limit {
		t.Errorf("queries in flight at once: got at most %d, want MaxConcurrentQueries, %d", most, limit)
	}
}
