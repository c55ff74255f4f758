package prometheus

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/podscrape/podscrape/source"
)

// TestConcurrentRefreshesShareOneRequest holds the server's answer until three Refreshes
// wait for the same expression, then checks that one request answered them all, and that
// Get answered at once all along.
func TestConcurrentRefreshesShareOneRequest(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	release := make(chan struct{})
	srv := newAPIServer(t, func(w http.ResponseWriter, _ *http.Request, _ string, n int) {
		<-release
		writeJSON(w, http.StatusOK, vectorOf(1, "9"))
	})
	s := NewPrometheusSource(t.Context(), srv.api(t, ClientConfig{}), fastConfig())
	register(t, s, "q")
	var outs []<-chan refreshOutcome
	for range 3 {
		outs = append(outs, refreshAsync(t.Context(), s, source.RefreshSpec{}))
	}
	eventually(t, "three callers waiting", func() bool { return s.flights.waiting("q") == 3 })
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
	s := NewPrometheusSource(t.Context(), srv.api(t, ClientConfig{}), fastConfig())
	register(t, s, "q")

	// One caller leaves, the other gets the answer.
	leaving, leave := context.WithCancel(t.Context())
	gone := refreshAsync(leaving, s, source.RefreshSpec{})
	eventually(t, "first caller waiting", func() bool { return s.flights.waiting("q") == 1 })
	staying := refreshAsync(t.Context(), s, source.RefreshSpec{})
	eventually(t, "second caller waiting", func() bool { return s.flights.waiting("q") == 2 })
	leave()
	if out := <-gone; !errors.Is(out.results["q"].Error, context.Canceled) {
		t.Errorf("leaving caller: got %+v, %v; want context.Canceled in the result", out.results["q"], out.err)
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
	cfg := fastConfig()
	cfg.QueryTimeout = time.Hour // only the callers leaving can end the request
	s2 := NewPrometheusSource(t.Context(), srv2.api(t, ClientConfig{}), cfg)
	register(t, s2, "q")
	gone = refreshAsync(leaving, s2, source.RefreshSpec{})
	eventually(t, "caller waiting", func() bool { return s2.flights.waiting("q") == 1 && len(srv2.received()) == 1 })
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
