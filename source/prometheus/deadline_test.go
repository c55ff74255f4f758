package prometheus

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	clocktesting "k8s.io/utils/clock/testing"

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

// Under a second left, the server is told it in whole milliseconds ("800ms", which
// Prometheus and serve parse, where "1.5s" they refuse): told none, it used its own
// default, and serve waited for a hung pod past the caller's deadline (a caller's
// deadline under a second, or a retry late in QueryTimeout): no answer at all.
func TestTimeoutSentUnderASecond(t *testing.T) {
	srv := okServer(t)
	cfg := fastConfig()
	cfg.QueryTimeout = 10 * time.Second
	s := NewPrometheusSource(t.Context(), srv.api(t, ClientConfig{}), cfg)
	ctx, cancel := context.WithTimeout(t.Context(), 900*time.Millisecond)
	defer cancel()
	if r := queryOnce(t, ctx, s); r.Error != nil {
		t.Fatal(r.Error)
	}
	got := srv.received()[0].timeout
	if d, err := model.ParseDuration(got); err != nil || time.Duration(d) <= 0 || time.Duration(d) > 900*time.Millisecond || time.Duration(d)%time.Millisecond != 0 {
		t.Fatalf("timeout sent: %q, want what is left of the caller's 900ms, in whole milliseconds", got)
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

// The caller that started a request leaving (its deadline passed) does not take the
// timeout of the request's later attempts with it: a retry for the callers still waiting
// tells the server the time left of QueryTimeout. Told the first caller's, past, it told
// none, and serve waited for a hung pod past the time those callers wait: they got an
// error where serve would have answered from its latest scrape.
func TestTimeoutSentOnARetryAfterTheFirstCallerLeft(t *testing.T) {
	left := make(chan struct{}) // closed once the first caller has left
	srv := newAPIServer(t, func(w http.ResponseWriter, r *http.Request, _ string, n int) {
		if n == 1 {
			select {
			case <-left:
			case <-r.Context().Done():
			}
			writeJSON(w, http.StatusServiceUnavailable, "unavailable")
			return
		}
		writeJSON(w, http.StatusOK, vectorOf(1, "4"))
	})
	clk := clocktesting.NewFakeClock(time.Now())
	cfg := fastConfig()
	cfg.Clock = clk
	cfg.QueryTimeout = 10 * time.Second
	s := NewPrometheusSource(t.Context(), srv.api(t, ClientConfig{}), cfg)
	register(t, s, "q")
	key := flightKey("q", clk.Now())

	first, cancel := context.WithTimeout(t.Context(), 1200*time.Millisecond)
	defer cancel()
	gone := refreshAsync(first, s, source.RefreshSpec{})
	eventually(t, "first caller's request", func() bool { return s.flights.waiting(key) == 1 && len(srv.received()) == 1 })
	staying := refreshAsync(t.Context(), s, source.RefreshSpec{})
	eventually(t, "second caller waiting", func() bool { return s.flights.waiting(key) == 2 })
	if out := <-gone; !errors.Is(out.err, context.DeadlineExceeded) {
		t.Fatalf("first caller: %v, want its deadline", out.err)
	}
	close(left)
	if out := <-staying; out.err != nil || out.results["q"].FirstValue().Value != 4 {
		t.Fatalf("second caller: %+v, %v; want 4", out.results["q"], out.err)
	}
	got := srv.received()
	if len(got) != 2 || got[0].timeout != "1s" {
		t.Fatalf("requests %+v, want two, the first telling the first caller's 1s", got)
	}
	if d, err := model.ParseDuration(got[1].timeout); err != nil || time.Duration(d) < 5*time.Second || time.Duration(d) > 9*time.Second {
		t.Errorf("retry's timeout sent: %q, want what is left of QueryTimeout (10s) after the first caller's 1.2s", got[1].timeout)
	}
}
