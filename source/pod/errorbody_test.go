package pod

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/podscrape/podscrape/source"
)

// A pod that answers an error status or a redirect has answered: its scrape fails at
// once, whatever its body does next. Here the body stalls after its first bytes (an
// overloaded server that wrote its 503 and went back to a blocked event loop), or a 200
// body malformed from its first line stalls; before, the source drained the rest until
// ScrapeTimeout, holding the whole Refresh for as long.
func TestErrorAnswerWithAStalledBodyFailsAtOnce(t *testing.T) {
	const timeout = 30 * time.Second
	for _, tc := range []struct {
		name        string
		status      int
		contentType string
		body        string
		reason      string
	}{
		{"503", http.StatusServiceUnavailable, "text/plain; version=0.0.4", "busy {\n", ReasonHTTPStatus},
		{"302", http.StatusFound, "text/plain; version=0.0.4", "busy {\n", ReasonRedirect},
		{"200 malformed", http.StatusOK, "text/plain; version=0.0.4", "busy {\n", ReasonParse},
		// Its Content-Length says the body is not empty: no byte needs to arrive to
		// tell it from an empty, successful scrape.
		{"200 text/html, no byte yet", http.StatusOK, "text/html", "", ReasonFormat},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := startHandlerPod(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Location", "/elsewhere")
				w.Header().Set("Content-Type", tc.contentType)
				w.Header().Set("Content-Length", "100")
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
				w.(http.Flusher).Flush()
				<-r.Context().Done()
			}))
			cfg.ScrapeTimeout = timeout
			s, err := NewPodScrapingSource(context.Background(), cp.Client, cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(s.Close)
			start := time.Now()
			_, err = s.Refresh(context.Background(), source.RefreshSpec{})
			took := time.Since(start)
			var se *ScrapeError
			if !errors.As(err, &se) || ScrapeReason(se) != tc.reason {
				t.Fatalf("got %v, want a *ScrapeError of reason %s", err, tc.reason)
			}
			// Loose for a shared machine: the point is not waiting for ScrapeTimeout.
			if took > timeout/3 {
				t.Errorf("Refresh took %s against a %s ScrapeTimeout for a pod that answered %d and a body that failed at once", took, timeout, tc.status)
			}
		})
	}
}
