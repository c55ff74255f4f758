package prometheus

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/podscrape/podscrape/source"
)

// When QueryTimeout ends an attempt, the error is the deadline and names the failure of
// the attempt before it, which is why the query was still running.
func TestDeadlineErrorNamesTheAttemptBefore(t *testing.T) {
	srv := newAPIServer(t, func(w http.ResponseWriter, r *http.Request, _ string, n int) {
		if n == 1 {
			writeJSON(w, http.StatusServiceUnavailable, "unavailable")
			return
		}
		<-r.Context().Done() // the second attempt runs into the deadline
	})
	cfg := fastConfig()
	cfg.QueryTimeout = 300 * time.Millisecond
	s := NewPrometheusSource(t.Context(), srv.api(t, ClientConfig{}), cfg)
	register(t, s, "q")
	results, _ := s.Refresh(t.Context(), source.RefreshSpec{})
	e := results["q"].Error
	if !isDeadline(e) || !strings.Contains(e.Error(), "the attempt before") || !strings.Contains(e.Error(), "503") {
		t.Fatalf("got %v, want the deadline, then the attempt before's 503", e)
	}
	// The first attempt's error alone names no attempt before.
	first, _ := s.Refresh(t.Context(), source.RefreshSpec{}) // third request: the deadline at once
	if e := first["q"].Error; !isDeadline(e) || strings.Contains(e.Error(), "%!") {
		t.Fatalf("got %v, want the deadline, well formed", e)
	}
}

// The server is told the time left, in whole seconds, as soon as a second is left: with
// a QueryTimeout of just under 2s, the first attempt says 1s.
func TestTimeoutSentInWholeSeconds(t *testing.T) {
	srv := okServer(t)
	cfg := fastConfig()
	cfg.QueryTimeout = 1999 * time.Millisecond
	s := NewPrometheusSource(t.Context(), srv.api(t, ClientConfig{}), cfg)
	if r := queryOnce(t, t.Context(), s); r.Error != nil {
		t.Fatal(r.Error)
	}
	got := srv.received()[0].timeout
	if d, err := model.ParseDuration(got); err != nil || time.Duration(d) != time.Second {
		t.Fatalf("timeout sent: %q, want 1s", got)
	}
}
