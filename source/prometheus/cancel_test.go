package prometheus

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	"github.com/podscrape/podscrape/source"
)

// A Refresh whose context ends while some of its queries are in flight returns the
// context's error and no results, and caches nothing, not even the queries that had
// answered, as the pod source does (docs/library.md): behind one interface, a cancelled
// Refresh must not read as a success on one backend. The values cached before stay.
func TestCancelledRefreshReturnsTheContextErrorAndCachesNothing(t *testing.T) {
	var hang atomic.Bool
	srv := newAPIServer(t, func(w http.ResponseWriter, r *http.Request, query string, n int) {
		if query == "slow" && hang.Load() {
			<-r.Context().Done()
			return
		}
		v := "1" // the first Refresh's two requests
		if n > 2 {
			v = "2"
		}
		writeJSON(w, http.StatusOK, vectorOf(1, v))
	})
	clk := clocktesting.NewFakeClock(time.Now())
	cfg := fastConfig()
	cfg.Clock = clk
	cfg.MaxConcurrentQueries = 1 // slow ("fast" < "slow") is sent only once fast has answered
	s := NewPrometheusSource(t.Context(), srv.api(t, ClientConfig{}), cfg)
	register(t, s, "fast", "slow")
	mustRefresh(t, s, source.RefreshSpec{}) // 1 for both

	hang.Store(true)
	clk.Step(time.Second)
	ctx, cancel := context.WithCancel(t.Context())
	out := refreshAsync(ctx, s, source.RefreshSpec{})
	eventually(t, "fast answered and slow sent", func() bool { return srv.count("fast") == 2 && srv.count("slow") == 2 })
	cancel()
	o := <-out
	if !errors.Is(o.err, context.Canceled) || o.results != nil {
		t.Errorf("Refresh cancelled mid-way: got results %v, error %v; want context.Canceled and no results", o.results, o.err)
	}
	// The error says what the caller was waiting for: the query that had not answered.
	if msg := o.err.Error(); !strings.Contains(msg, "slow") || strings.Contains(msg, "fast") {
		t.Errorf("Refresh cancelled mid-way: %q, want it to name the query it waited for (slow), not the one that answered (fast)", msg)
	}
	for _, name := range []string{"fast", "slow"} {
		if got := s.Get(name, nil); got == nil || got.Result.FirstValue().Value != 1 {
			t.Errorf("%s after a cancelled Refresh: got %+v, want the value cached before (1)", name, got)
		}
	}
}
