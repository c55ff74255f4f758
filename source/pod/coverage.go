package pod

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/podscrape/podscrape/internal/history"
)

// storedSince records, per metric name, since when the history has stored it without a
// break: a name added to the stored set by the refresh at T is covered from T on; a
// refresh that does not store it starts it over.
type storedSince struct {
	names map[string]time.Time
	all   time.Time // when the history began storing every metric; zero when it does not
}

// record notes that the scrape appended at at stored stored.
func (c *storedSince) record(stored storedNames, at time.Time) {
	if c.names == nil {
		c.names = map[string]time.Time{}
	}
	for name := range stored.names {
		if _, ok := c.names[name]; !ok {
			c.names[name] = at
		}
	}
	if stored.all {
		if c.all.IsZero() {
			c.all = at
		}
		return
	}
	c.all = time.Time{}
	for name := range c.names {
		if _, ok := stored.names[name]; !ok {
			delete(c.names, name)
		}
	}
}

// clone returns a copy the caller owns.
func (c storedSince) clone() storedSince {
	return storedSince{names: maps.Clone(c.names), all: c.all}
}

// from returns since when metric (empty: any metric) has been stored, and false when it
// is not stored.
func (c storedSince) from(metric string) (time.Time, bool) {
	t, ok := c.names[metric]
	if metric == "" {
		ok = false
	}
	if !c.all.IsZero() && (!ok || c.all.Before(t)) {
		return c.all, true
	}
	return t, ok
}

// coverage is what a PromQL evaluation at one instant can know of the history behind it.
type coverage struct {
	oldest    time.Time     // the oldest scrape the history holds (History.Span)
	since     storedSince   // since when each metric is stored
	retention time.Duration // the history's retention; zero: not known
}

// check returns, for the query name evaluated as expr at at: an error wrapping
// ErrNoHistory when a metric it reads is not stored (or began to be stored after at), a
// *PartialWindowError when a window that adds up over time reaches before what is held,
// and a warning for each window of an estimate (rate, avg_over_time, ...) that does, with
// the widest such window's error in estimate (nil when none). An expression that does not
// parse gives none of them: its evaluation reports it.
func (c coverage) check(name, expr string, at time.Time) (err error, warnings []string, estimate *PartialWindowError) {
	reads, perr := history.Reads(expr)
	if perr != nil {
		return nil, nil, nil
	}
	var partial *PartialWindowError
	for _, r := range reads {
		start, ok := c.since.from(r.Metric)
		if !ok || start.After(at) {
			metric := "metric " + r.Metric
			if r.Metric == "" {
				metric = "every metric"
			}
			return fmt.Errorf("query %q: %s: %w", name, metric, ErrNoHistory), nil, nil
		}
		if c.oldest.After(start) {
			start = c.oldest
		}
		// An @ modifier moves the window, it does not cover it: @ start() and @ end() of
		// an instant query are its evaluation time, and a window pinned to a timestamp
		// reaches back from there.
		end := at
		if !r.At.IsZero() {
			end = r.At
		}
		if !end.Add(-r.Reach).Before(start) {
			continue
		}
		e := &PartialWindowError{Query: name, Func: r.Func, Window: r.Reach, Held: at.Sub(start), At: r.At}
		if c.retention > 0 && c.retention < r.Reach {
			e.Retention = c.retention
		}
		switch {
		case r.Range == 0 && r.Reach == 0:
			e.Func = "@"
		case r.Range == 0:
			e.Func = "offset"
		case e.Func == "":
			e.Func = "range"
		}
		if r.Sums {
			if partial == nil || e.Window > partial.Window {
				partial = e
			}
			continue
		}
		if w := e.what() + ": estimated over the span held"; !slices.Contains(warnings, w) {
			warnings = append(warnings, w) // a ratio of two rates warns once
		}
		if estimate == nil || e.Window > estimate.Window {
			estimate = e
		}
	}
	if partial != nil {
		return partial, warnings, estimate
	}
	return nil, warnings, estimate
}
