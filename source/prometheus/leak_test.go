package prometheus

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/podscrape/podscrape/internal/leakcheck"
	"github.com/podscrape/podscrape/source"
)

// TestRetriesEndWithTheirCallers: 50 sources (a controller's, one per Service, sharing
// one API) whose Prometheus answers 503, each Refresh waiting in a ten-minute retry
// backoff when its caller gives up: every retry loop ends with its last caller, and no
// goroutine or connection is left (counts back to the baseline), instead of 50 loops
// waiting their backoff and retrying for the query's hour.
func TestRetriesEndWithTheirCallers(t *testing.T) {
	srv := newAPIServer(t, func(w http.ResponseWriter, _ *http.Request, _ string, _ int) {
		writeJSON(w, http.StatusServiceUnavailable, `{"status":"error","errorType":"timeout","error":"query timed out"}`)
	})
	api := srv.api(t, ClientConfig{})
	base := leakcheck.Take()

	cfg := PrometheusSourceConfig{QueryTimeout: time.Hour, RetryBackoff: 10 * time.Minute, MaxRetryBackoff: 10 * time.Minute}
	const n = 50
	var outcomes []<-chan refreshOutcome
	var cancels []context.CancelFunc
	for range n {
		s := NewPrometheusSource(t.Context(), api, cfg)
		register(t, s, "q")
		ctx, cancel := context.WithCancel(t.Context())
		outcomes = append(outcomes, refreshAsync(ctx, s, source.RefreshSpec{}))
		cancels = append(cancels, cancel)
	}
	eventually(t, "every source's first attempt", func() bool { return len(srv.received()) >= n })
	for i, cancel := range cancels {
		cancel()
		if out := <-outcomes[i]; !errors.Is(out.err, context.Canceled) {
			t.Fatalf("Refresh %d: %v, want context.Canceled", i, out.err)
		}
	}
	srv.CloseClientConnections() // the API's idle connections: it has no Close
	leakcheck.Back(t, base, 5, 10*time.Second)
	if got := len(srv.received()); got != n {
		t.Errorf("the server received %d queries, want %d: a retry came after its caller left", got, n)
	}
}
