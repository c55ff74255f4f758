package pod

import (
	"errors"
	"fmt"
	"time"
)

// ErrPartialWindow is wrapped by a PromQL result's Error when a window of the query that
// adds up over time (increase, delta, sum_over_time, count_over_time, changes, resets,
// absent_over_time, first_over_time, an offset, or an @ modifier) reaches back before the oldest scrape
// the history holds for the metrics it reads: the source started, or began storing those metrics, less
// than the window ago. The values are kept, but they add up a shorter span than asked:
// read them as a lower bound, never as "idle" (hold a scale-to-zero). It is also the
// Error of an estimate (rate, avg_over_time, ...) whose window reaches back before the
// history and whose answer has no value at all (a rate over a single scrape): an empty
// answer would read as no load. (An estimate with values gets a warning instead.) And it
// is the Error of a query whose window that adds up over time reads series of pods that
// answered before and are no longer scraped (not Ready, or finished): their part of it
// stops at their last scrape (PartialWindowError.LeftOut). The
// error is a *PartialWindowError naming the query, the window and the span held.
var ErrPartialWindow = errors.New("partial window")

// PartialWindowError says a query's window reaches before what the history holds. It
// wraps ErrPartialWindow.
type PartialWindowError struct {
	// Query is the query's registered name.
	Query string
	// Func is the function over the window ("increase"); "offset" for an instant selector
	// with an offset, "@" for one pinned by an @ modifier alone, "range" for a range
	// returned as the result.
	Func string
	// Window is how far back the window reaches: its range, the ranges of the subqueries
	// it is evaluated in, and every offset on the way; from At when an @ modifier pins it
	// to a timestamp.
	Window time.Duration
	// At is the time an @ modifier with a timestamp pins the window to; zero otherwise
	// (@ start() and @ end() are an instant query's evaluation time).
	At time.Time
	// Gap, when not zero, is the span without a stored scrape that the window starts in
	// (the source's refreshes failed as a whole, or none came, for that long): Held
	// counts from the scrape that ended it.
	Gap time.Duration
	// Held is the span of history the window found: from the oldest scrape holding the
	// metrics it reads to the evaluation time.
	Held time.Duration
	// Retention is the history's retention (HistoryRetention) when it is shorter than
	// Window: the window is never covered; zero otherwise.
	Retention time.Duration

	// LeftOut, when not "", says which pods that answered before are no longer scraped
	// (not Ready, or finished) while the window adds up their series: it holds what they
	// did up to their last scrape and nothing since (a pod failing its readiness probe
	// under load still completes the requests it holds). The same words as the result's
	// warning of them.
	LeftOut string

	// lonely: the history holds the window, but no series it reads holds two samples
	// in it (their pods' scrapes failed for longer than its range, or they began).
	lonely bool
}

// Error says which query's window reaches how far back, and how much the history holds.
func (e *PartialWindowError) Error() string { return e.what() + ": " + ErrPartialWindow.Error() }

// what is the message without the sentinel's text: an estimate's warning says the same.
func (e *PartialWindowError) what() string {
	window := fmt.Sprintf("%s over %s", e.Func, e.Window)
	switch e.Func {
	case "offset": // an instant selector's offset is not a window a function runs over
		window = fmt.Sprintf("offset %s", e.Window)
	case "@":
		window = "selector"
	}
	if !e.At.IsZero() {
		window += " @ " + e.At.UTC().Format(time.RFC3339Nano)
	}
	if e.LeftOut != "" {
		return fmt.Sprintf("query %q: %s adds up series of pods no longer scraped, with nothing of them since their last scrape (%s)", e.Query, window, e.LeftOut)
	}
	if e.lonely {
		return fmt.Sprintf("query %q: %s holds no two samples of a series it reads (their pods' scrapes failed, or they began, within it)", e.Query, window)
	}
	if e.Gap > 0 {
		return fmt.Sprintf("query %q: %s starts in a %s gap between the history's scrapes (%s held after it)", e.Query, window, e.Gap, e.Held)
	}
	if e.Retention > 0 {
		return fmt.Sprintf("query %q: %s reaches before the history's oldest scrape (%s held; HistoryRetention %s is shorter than the window)",
			e.Query, window, e.Held, e.Retention)
	}
	return fmt.Sprintf("query %q: %s reaches before the history's oldest scrape (%s held)", e.Query, window, e.Held)
}

// Unwrap returns ErrPartialWindow.
func (e *PartialWindowError) Unwrap() error { return ErrPartialWindow }
