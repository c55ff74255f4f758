package prometheus

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"testing"
	"time"

	"go.uber.org/goleak"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/podscrape/podscrape/source"
)

// TestConcurrentRefreshesShareOneRequest holds the server's answer until three Refreshes
// at one instant wait for the same expression, then checks that one request answered
// them all, and that Get answered at once all along.
func TestConcurrentRefreshesShareOneRequest(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	release := make(chan struct{})
	srv := newAPIServer(t, func(w http.ResponseWriter, _ *http.Request, _ string, n int) {
		<-release
		writeJSON(w, http.StatusOK, vectorOf(1, "9"))
	})
	clk := clocktesting.NewFakeClock(time.Now())
	cfg := fastConfig()
	cfg.Clock = clk
	s := NewPrometheusSource(t.Context(), srv.api(t, ClientConfig{}), cfg)
	register(t, s, "q")
	var outs []<-chan refreshOutcome
	for range 3 {
		outs = append(outs, refreshAsync(t.Context(), s, source.RefreshSpec{}))
	}
	eventually(t, "three callers waiting", func() bool { return s.flights.waiting(flightKey("q", clk.Now())) == 3 })
	if got := s.Get("q", nil); got != nil { // would block here if Get waited
		t.Errorf("Get during the first Refresh: got %+v, want nil", got)
	}
	close(release)
	for _, ch := range outs {
		out := <-ch
		if out.err != nil || out.results["q"].FirstValue().Value != 9 {
			t.Errorf("got %+v, %v; want 9", out.results["q"], out.err)
		}
	}
	if got := len(srv.received()); got != 1 {
		t.Errorf("got %d requests, want 1 shared", got)
	}
	srv.Close()
}

// TestCallerGivingUp checks that a caller whose context ends leaves the shared request
// to the others, and that the request is cancelled when every caller has left.
func TestCallerGivingUp(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	release := make(chan struct{})
	cancelled := make(chan struct{}, 1)
	srv := newAPIServer(t, func(w http.ResponseWriter, r *http.Request, _ string, _ int) {
		select {
		case <-release:
			writeJSON(w, http.StatusOK, vectorOf(1, "4"))
		case <-r.Context().Done():
			cancelled <- struct{}{}
		}
	})
	clk := clocktesting.NewFakeClock(time.Now())
	cfg := fastConfig()
	cfg.Clock = clk
	s := NewPrometheusSource(t.Context(), srv.api(t, ClientConfig{}), cfg)
	register(t, s, "q")
	key := flightKey("q", clk.Now())

	// One caller leaves, the other gets the answer.
	leaving, leave := context.WithCancel(t.Context())
	gone := refreshAsync(leaving, s, source.RefreshSpec{})
	eventually(t, "first caller waiting", func() bool { return s.flights.waiting(key) == 1 })
	staying := refreshAsync(t.Context(), s, source.RefreshSpec{})
	eventually(t, "second caller waiting", func() bool { return s.flights.waiting(key) == 2 })
	leave()
	if out := <-gone; !errors.Is(out.err, context.Canceled) || out.results != nil {
		t.Errorf("leaving caller: got %v, %v; want context.Canceled and no results", out.results, out.err)
	}
	close(release)
	if out := <-staying; out.err != nil || out.results["q"].FirstValue().Value != 4 {
		t.Errorf("staying caller: got %+v, %v; want 4", out.results["q"], out.err)
	}

	// Every caller leaves: the request is cancelled.
	leaving, leave = context.WithCancel(t.Context())
	srv2 := newAPIServer(t, func(w http.ResponseWriter, r *http.Request, _ string, _ int) {
		<-r.Context().Done()
		cancelled <- struct{}{}
	})
	cfg.QueryTimeout = time.Hour // only the callers leaving can end the request
	s2 := NewPrometheusSource(t.Context(), srv2.api(t, ClientConfig{}), cfg)
	register(t, s2, "q")
	gone = refreshAsync(leaving, s2, source.RefreshSpec{})
	eventually(t, "caller waiting", func() bool { return s2.flights.waiting(key) == 1 && len(srv2.received()) == 1 })
	leave()
	<-gone
	select {
	case <-cancelled: // the server saw the request end
	case <-time.After(10 * time.Second):
		t.Fatal("the request still runs 10s after its last caller left")
	}
	srv.Close()
	srv2.Close()
}

// Every query of one Refresh is evaluated at its one instant. A Refresh at t2 whose
// expression is in flight for a Refresh at t1 does not join that request (its answer is
// t1's, older than asked): it sends its own, at t2, and every result it returns is of t2.
func TestRefreshJoinsOnlyRequestsOfItsInstant(t *testing.T) {
	release := make(chan struct{})
	srv := newAPIServer(t, func(w http.ResponseWriter, _ *http.Request, query string, _ int) {
		if query == "slow" {
			<-release
		}
		writeJSON(w, http.StatusOK, vectorOf(1, "1"))
	})
	clk := clocktesting.NewFakeClock(time.UnixMilli(1700000000000))
	cfg := fastConfig()
	cfg.Clock = clk
	s := NewPrometheusSource(t.Context(), srv.api(t, ClientConfig{}), cfg)
	register(t, s, "slow", "other")
	t1 := clk.Now()
	first := refreshAsync(t.Context(), s, source.RefreshSpec{Queries: []string{"slow"}})
	eventually(t, "slow at t1 on the server", func() bool { return srv.count("slow") == 1 })
	clk.Step(10 * time.Second)
	t2 := clk.Now()
	second := refreshAsync(t.Context(), s, source.RefreshSpec{Queries: []string{"slow", "other"}})
	eventually(t, "slow at t2 on the server", func() bool { return srv.count("slow") == 2 })
	close(release)
	if out := <-first; out.err != nil || !out.results["slow"].CollectedAt.Equal(t1) {
		t.Errorf("first Refresh: got %+v, %v; want slow at %s", out.results["slow"], out.err, t1)
	}
	out := <-second
	if out.err != nil {
		t.Fatal(out.err)
	}
	for name, r := range out.results {
		if r.Error != nil || !r.CollectedAt.Equal(t2) {
			t.Errorf("second Refresh, started at %s: %s collected at %s (error %v); want every query at the Refresh's instant", t2, name, r.CollectedAt, r.Error)
		}
	}
	var times []string
	for _, r := range srv.received() {
		if r.query == "slow" {
			times = append(times, r.time)
		}
	}
	if want := []string{"1700000000", "1700000010"}; !slices.Equal(times, want) {
		t.Errorf("slow sent at %q, want %q: once per instant", times, want)
	}
}
