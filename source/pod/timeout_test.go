package pod

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

// TestScrapeTimeoutReadsAsTimeout: whatever step the scrape's deadline cut short, the
// pod's error starts with the timeout and its reason is timeout; a scrape that finished
// past the deadline fails too, so an up pod's duration never exceeds ScrapeTimeout; an
// error the deadline did not cause is left as it is (the caller's own cancel: see
// TestScrapeCutByTheCallerReadsAsCanceled).
func TestScrapeTimeoutReadsAsTimeout(t *testing.T) {
	live := context.Background()
	expired, cancel := context.WithDeadline(live, time.Unix(0, 0))
	defer cancel()

	midBody := fmt.Errorf("read body: line 297: %w", context.DeadlineExceeded)
	status := &StatusError{StatusCode: 500}
	for _, tc := range []struct {
		name        string
		parent, ctx context.Context
		err         error
		took        time.Duration // zero: 2.29ms, past the 1ms limit
		want        string        // "" when err must come back unchanged
	}{
		{"cut mid-body", live, expired, midBody, 0,
			"timeout after 1ms: read body: line 297: context deadline exceeded"},
		{"finished past the deadline", live, expired, nil, 0, "timeout: the scrape took 2.29ms, over the 1ms ScrapeTimeout"},
		// ctx's timer had not fired yet (a busy machine): the duration alone says the
		// scrape ran past its deadline, so the pod must not be up with 2.29ms of 1ms.
		{"finished past the limit, the timer late", live, live, nil, 0, "timeout: the scrape took 2.29ms, over the 1ms ScrapeTimeout"},
		{"not the deadline's doing", live, expired, status, 0, ""},
		{"in time", live, live, nil, 900 * time.Microsecond, ""},
		{"exactly the limit", live, live, nil, time.Millisecond, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			took := tc.took
			if took == 0 {
				took = 2290 * time.Microsecond
			}
			got := withTimeout(tc.parent, tc.ctx, tc.err, time.Millisecond, took)
			if tc.want == "" {
				if got != tc.err {
					t.Fatalf("got %v, want the error unchanged (%v)", got, tc.err)
				}
				return
			}
			if got == nil || got.Error() != tc.want {
				t.Fatalf("got %v, want %q", got, tc.want)
			}
			if !errors.Is(got, context.DeadlineExceeded) || ScrapeReason(got) != ReasonTimeout {
				t.Errorf("reason %q, DeadlineExceeded %v: want timeout", ScrapeReason(got), errors.Is(got, context.DeadlineExceeded))
			}
			se := &ScrapeError{Pod: "ns/p", URL: "http://10.0.0.1:8000/metrics", Err: got}
			if !strings.HasPrefix(se.Error(), "scrape pod ns/p (http://10.0.0.1:8000/metrics): timeout") || se.Reason() != ReasonTimeout {
				t.Errorf("ScrapeError %q (reason %s): want it to start with the timeout", se, se.Reason())
			}
		})
	}
}

// TestScrapeCutByTheCallerReadsAsCanceled: an error the caller's context caused, by its
// cancel or by its own deadline, keeps its text and its errors.Is, and reads as
// ReasonCanceled, never as the pod's timeout; an error the caller did not cause is
// left as it is.
func TestScrapeCutByTheCallerReadsAsCanceled(t *testing.T) {
	callerGone, cancel := context.WithCancel(context.Background())
	cancel()
	callerLate, cancel2 := context.WithDeadline(context.Background(), time.Unix(0, 0))
	defer cancel2()
	midBody := fmt.Errorf("read body: line 297: %w", context.DeadlineExceeded)
	for _, tc := range []struct {
		name   string
		parent context.Context
		err    error
		is     error
	}{
		{"cancelled mid-body", callerGone, midBody, context.DeadlineExceeded},
		{"cancelled", callerGone, context.Canceled, context.Canceled},
		{"the caller's deadline", callerLate, context.DeadlineExceeded, context.DeadlineExceeded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			child, stop := context.WithTimeout(tc.parent, time.Hour)
			defer stop()
			got := withTimeout(tc.parent, child, tc.err, time.Millisecond, 2290*time.Microsecond)
			if got == nil || got.Error() != tc.err.Error() || !errors.Is(got, tc.is) {
				t.Fatalf("got %v, want %q, errors.Is %v", got, tc.err, tc.is)
			}
			if r := ScrapeReason(&ScrapeError{Pod: "ns/p", Err: got}); r != ReasonCanceled {
				t.Errorf("reason %q, want canceled", r)
			}
		})
	}
	status := &StatusError{StatusCode: 500}
	if got := withTimeout(callerGone, callerGone, status, time.Millisecond, 0); got != status {
		t.Errorf("a status error while the caller left: got %v, want it unchanged", got)
	}
}

// TestDialTimeoutAtTheDeadlineIsATimeout: the dialer's deadline is the scrape's, and
// when it fires first the request fails with the dialer's "i/o timeout", not the
// context's error: that too is the scrape's timeout (reason timeout, the timeout first),
// never a connection failure. A network timeout before the deadline stays what it is.
func TestDialTimeoutAtTheDeadlineIsATimeout(t *testing.T) {
	dial := &net.OpError{Op: "dial", Net: "tcp", Err: os.ErrDeadlineExceeded}
	live := context.Background()
	expired, cancel := context.WithDeadline(live, time.Unix(0, 0))
	defer cancel()
	later, cancel2 := context.WithTimeout(live, time.Hour)
	defer cancel2()

	var st requestStage
	err := withTimeout(live, expired, st.cut(expired, dial), time.Second, time.Second)
	if got, want := err.Error(), "timeout after 1s: connecting: dial tcp: i/o timeout"; got != want || ScrapeReason(err) != ReasonTimeout {
		t.Errorf("at the deadline: got %q (reason %s), want %q (reason timeout)", got, ScrapeReason(err), want)
	}
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("got %v, want the dialer's error still reachable", err)
	}
	err = withTimeout(live, later, st.cut(later, dial), time.Hour, time.Millisecond)
	if err != dial || ScrapeReason(err) != ReasonConnect {
		t.Errorf("before the deadline: got %v (reason %s), want the dial error as it is (reason connect)", err, ScrapeReason(err))
	}
}
