package pod

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// scrapeTimeoutError is a pod's scrape that ran into ScrapeTimeout. Its text starts with
// the timeout, whatever step the deadline cut short (the request, reading the body half
// parsed, or parsing an answer that arrived in time), so it never reads as a parse
// error; errors.Is finds context.DeadlineExceeded, so ScrapeReason says ReasonTimeout.
type scrapeTimeoutError struct {
	limit time.Duration // the ScrapeTimeout
	took  time.Duration // the scrape's duration
	err   error         // what the deadline cut short; nil when the scrape finished past it
}

func (e *scrapeTimeoutError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("timeout: the scrape took %s, over the %s ScrapeTimeout", e.took.Round(time.Microsecond), e.limit)
	}
	return fmt.Sprintf("timeout after %s: %v", e.limit, e.err)
}

// Unwrap returns what the deadline cut short, else context.DeadlineExceeded.
func (e *scrapeTimeoutError) Unwrap() error {
	if e.err == nil {
		return context.DeadlineExceeded
	}
	return e.err
}

// callerEndedError is a pod's scrape cut short by the caller's context (its cancel, or
// its own deadline), not by the pod: ScrapeReason says ReasonCanceled whatever the
// context's error, so a caller's short deadline never reads as the pod's timeout.
type callerEndedError struct{ err error }

func (e *callerEndedError) Error() string { return e.err.Error() }

// Unwrap returns the context's error, or what it cut short.
func (e *callerEndedError) Unwrap() error { return e.err }

// callerEnded marks err, when the caller's context caused it, as a callerEndedError;
// other errors, and nil, are returned as they are.
func callerEnded(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &callerEndedError{err: err}
	}
	return err
}

// withTimeout returns err as a scrapeTimeoutError when the scrape's own deadline (ctx,
// limit after parent) ran out, not the caller's: the timeout bounds the whole scrape,
// parsing included, so an up pod's scrape_duration_seconds never exceeds it. A scrape
// that took longer than limit ran out too, whether or not ctx says so yet: ctx's timer
// fires late on a busy machine, and the scrape then finishes past its deadline without
// an error. An error the caller's context (parent) caused is marked as such
// (callerEnded); other errors, and errors the deadline did not cause, are returned as
// they are.
func withTimeout(parent, ctx context.Context, err error, limit, took time.Duration) error {
	if parent.Err() != nil {
		return callerEnded(err)
	}
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if ctx.Err() != context.DeadlineExceeded && took <= limit {
		return err
	}
	return &scrapeTimeoutError{limit: limit, took: took, err: err}
}
