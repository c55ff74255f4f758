package history

import (
	"time"
)

// Narrowable reports whether w is a rate over a range selector, evaluated once at the
// query's time (no subquery around it, no @ pinning it): a window NarrowRates can move.
//
// Over a window reaching before the history (a start, a gap of failed scrapes), rate
// divides the increase of the span held by the whole range: rate(x[5m]) a minute after
// a start reads about a fifth of the truth, which an autoscaler would act on as a fifth
// of the load. Narrowed to the span held, the window starts just before its oldest
// sample, the engine extrapolates to both of its ends, and the rate is the counter's
// slope over the span held: right over the shorter span, as the other estimates
// (irate, avg_over_time, deriv, ...) already are.
func (w Window) Narrowable() bool {
	return w.matrix != nil && w.Func == "rate" && len(w.Subqueries) == 0 && !w.Pinned
}

// NarrowRates parses expr and narrows the range of each of its windows (Windows, in
// order) for which first, given the window's index, returns the time of the oldest sample
// its window reads (FirstSample) and true: the window, evaluated at at, then starts a
// millisecond before it. Only Narrowable windows move, and only to a shorter range. It
// returns the expression as PromQL, and false when no window moved (the text is then
// expr).
func NarrowRates(expr string, at time.Time, first func(i int, w Window) (time.Time, bool)) (string, bool, error) {
	e, err := Parse(expr)
	if err != nil {
		return expr, false, err
	}
	moved := false
	for i, w := range Windows(e) {
		if !w.Narrowable() {
			continue
		}
		f, ok := first(i, w)
		if !ok {
			continue
		}
		// The engine evaluates at whole milliseconds (the time's floor) and reads the
		// window (end-range, end].
		end := at.UnixMilli() - w.Offset.Milliseconds()
		rng := end - f.UnixMilli() + 1
		if rng <= 0 || rng >= w.Range.Milliseconds() {
			continue
		}
		w.matrix.Range, w.matrix.RangeExpr = time.Duration(rng)*time.Millisecond, nil
		moved = true
	}
	if !moved {
		return expr, false, nil
	}
	return e.String(), true, nil
}
