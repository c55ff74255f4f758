package history

import (
	"time"

	"github.com/prometheus/prometheus/promql/parser"
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

// ReadsAfter returns the time after which the engine reads samples for w, evaluated at
// at with a lookback delta of lookback: Reach back; for an anchored or smoothed selector
// a lookback delta further, where it finds the sample it anchors (or interpolates) the
// window's start on. NarrowRates' first is the oldest sample held from there
// (FirstSample): one before the window's start leaves the window whole. An anchored rate
// after an outage anchors on the sample before it, and narrowed to the span after the
// outage would divide the increase since that sample by the shorter span: several times
// the load.
func (w Window) ReadsAfter(at time.Time, lookback time.Duration) time.Time {
	from := at.Add(-w.Reach)
	if w.Extended() {
		from = from.Add(-lookback)
	}
	return from
}

// Extrapolates reports whether w's answer is extrapolated to its window's start when the
// window's first sample is within 1.1 times the samples' average spacing of it
// (Prometheus' extrapolatedRate): a rate, an increase or a delta over a range selector,
// neither anchored nor smoothed (those take the window's start from the sample before
// it), nor a subquery's range (whose steps read through the lookback delta). Only such a
// window may start before the oldest scrape by less than that spacing and read as whole
// (ReachesBefore).
func (w Window) Extrapolates() bool {
	return w.matrix != nil && extrapolated[w.Func] && !w.Extended()
}

// extrapolated are the functions whose answer over a range Prometheus extrapolates to
// the range's ends.
var extrapolated = map[string]bool{"rate": true, "increase": true, "delta": true}

// Extended reports whether w's range selector is anchored or smoothed: the engine reads
// its window's start from the samples before it (a lookback delta back at most), and a
// rate over it does not extrapolate to the window's ends.
func (w Window) Extended() bool {
	if w.matrix == nil {
		return false
	}
	vs, ok := w.matrix.VectorSelector.(*parser.VectorSelector)
	return ok && (vs.Anchored || vs.Smoothed)
}

// NarrowRates parses expr and narrows the range of each of its windows (Windows, in
// order) for which first, given the window's index, returns the time of the oldest sample
// its window reads (FirstSample from ReadsAfter) and true: the window, evaluated at at,
// then starts a millisecond before it. Only Narrowable windows move, and only to a shorter range. It
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
