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

// withTimeout returns err as a scrapeTimeoutError when the scrape's own deadline (ctx,
// limit after parent) ran out, not the caller's: the timeout bounds the whole scrape,
// parsing included, so an up pod's scrape_duration_seconds never exceeds it. A scrape
// that took longer than limit ran out too, whether or not ctx says so yet: ctx's timer
// fires late on a busy machine, and the scrape then finishes past its deadline without
// an error. Other errors, and errors the deadline did not cause, are returned as they
// are.
func withTimeout(parent, ctx context.Context, err error, limit, took time.Duration) error {
	if parent.Err() != nil || (err != nil && !errors.Is(err, context.DeadlineExceeded)) {
		return err
	}
	if ctx.Err() != context.DeadlineExceeded && took <= limit {
		return err
	}
	return &scrapeTimeoutError{limit: limit, took: took, err: err}
}
