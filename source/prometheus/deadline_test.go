package prometheus

import (
	"context"
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

// The server is told the time left of the caller's deadline when it is earlier than
// QueryTimeout's, so that it answers what it can within the caller's time (serve: from
// its latest scrape, not waiting for a hung pod past it); else QueryTimeout's. Told
// QueryTimeout's alone, serve waited for the pod past the caller's deadline, and the
// caller got no answer at all.
func TestTimeoutSentIsTheCallersWhenEarlier(t *testing.T) {
	srv := okServer(t)
	cfg := fastConfig()
	cfg.QueryTimeout = 10 * time.Second
	s := NewPrometheusSource(t.Context(), srv.api(t, ClientConfig{}), cfg)
	for i, tc := range []struct {
		name   string
		caller time.Duration // 0: no deadline
		want   time.Duration
	}{
		{"a caller's deadline earlier than QueryTimeout", 2500 * time.Millisecond, 2 * time.Second},
		{"no caller's deadline", 0, 9 * time.Second},
		{"a caller's deadline later than QueryTimeout", time.Minute, 9 * time.Second},
	} {
		ctx := t.Context()
		if tc.caller > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, tc.caller)
			defer cancel()
		}
		if r := queryOnce(t, ctx, s); r.Error != nil {
			t.Fatalf("%s: %v", tc.name, r.Error)
		}
		got := srv.received()[i].timeout
		if d, err := model.ParseDuration(got); err != nil || time.Duration(d) != tc.want {
			t.Errorf("%s: timeout sent %q, want %s", tc.name, got, tc.want)
		}
	}
}
