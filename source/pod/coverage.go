package pod

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/podscrape/podscrape/internal/history"
)

// storedSince records, per metric name, since when the history has stored it without a
// break: a name added to the stored set by the refresh at T is covered from T on; a
// refresh that does not store it starts it over. It also keeps the times of the
// appends that stored a pod's scrape, to find the gaps between them (gapAt) and the
// scrapes in a window (pairIn).
type storedSince struct {
	names   map[string]time.Time
	all     time.Time   // when the history began storing every metric; zero when it does not
	appends []time.Time // the appends' times within the retention, and the one before, oldest first
}

// record notes that the scrape appended at at stored stored, in a history of retention.
func (c *storedSince) record(stored storedNames, at time.Time, retention time.Duration) {
	if n := len(c.appends); n == 0 || at.After(c.appends[n-1]) {
		c.appends = append(c.appends, at)
	}
	// A window reaching before the retention is partial anyway: of the appends before it,
	// only the last is kept, for the gap that may straddle it.
	drop := 0
	for drop+1 < len(c.appends) && c.appends[drop+1].Before(at.Add(-retention)) {
		drop++
	}
	c.appends = slices.Delete(c.appends, 0, drop)
	c.note(stored, at)
}

// note notes that the history stores stored from the append at at on, without counting
// that append as a scrape of them (every pod's scrape failed: it stored none).
func (c *storedSince) note(stored storedNames, at time.Time) {
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
	return storedSince{names: maps.Clone(c.names), all: c.all, appends: slices.Clone(c.appends)}
}

// gapAt reports whether a window from w starts in a gap between two appends (the
// source's refreshes failed as a whole, or none came): history.GapAt's rule, as serve
// applies it; or, when lonely (a range none of whose windows holds two appends, see
// pairIn), the spacing that leaves it one append or none (a rate over one scrape
// estimates nothing, a count over it counts one). It returns the append that ended the
// gap and the gap's length.
func (c storedSince) gapAt(w time.Time, lonely bool) (after time.Time, gap time.Duration, ok bool) {
	if !lonely {
		return history.GapAt(c.appends, w)
	}
	// appends[i] is the first after w: w is in the spacing between appends[i-1] and it.
	i := c.after(w)
	if i == 0 || i == len(c.appends) {
		return time.Time{}, 0, false
	}
	return c.appends[i], c.appends[i].Sub(c.appends[i-1]), true
}

// gapInSteps is gapAt for the windows of w's subquery steps at end (history.Window.Steps)
// that start at or after start (history.Window.GapInSteps).
func (c storedSince) gapInSteps(w history.Window, end, start time.Time) (after time.Time, gap time.Duration, ok bool) {
	return w.GapInSteps(c.appends, end, start)
}

// before returns the latest append before t, or the zero time when none is kept. The
// samples of the scrape appended at t are all after it: refreshes never overlap, and a
// pod's samples are at its own scrape, which may start before t (t is the last pod's) and
// is stored in whole milliseconds.
func (c storedSince) before(t time.Time) time.Time {
	if i := sort.Search(len(c.appends), func(j int) bool { return !c.appends[j].Before(t) }); i > 0 {
		return c.appends[i-1]
	}
	return time.Time{}
}

// after returns the index of the first append after t (len(appends) when none is).
func (c storedSince) after(t time.Time) int {
	return sort.Search(len(c.appends), func(j int) bool { return c.appends[j].After(t) })
}

// pairWithin reports whether two of the appends after from and at or before end are less
// than rng apart: whether a window of rng between them (its start excluded, as PromQL's)
// can hold two appends. For a window that spans from to end, it is whether it holds two;
// for the windows of a subquery's steps, which lie between them, none holds two when no
// two appends are that close.
func (c storedSince) pairWithin(from, end time.Time, rng time.Duration) bool {
	for k, last := c.after(from)+1, c.after(end); k < last; k++ {
		if c.appends[k].Sub(c.appends[k-1]) < rng {
			return true
		}
	}
	return false
}

// pairIn reports whether a window w, evaluated at end, can hold two of the appends at or
// after start: the window itself; in subqueries, one of those of the steps the engine
// evaluates it at and the subqueries around it read (history.Window.Steps).
func (c storedSince) pairIn(w history.Window, end, start time.Time) bool {
	r := w.Read
	from, last := end.Add(-r.Reach), end.Add(-r.Offset)
	if from.Before(start) {
		from = start.Add(-time.Nanosecond) // the append at start is in the window
	}
	if len(w.Subqueries) == 0 {
		return c.pairWithin(from, last, r.Range)
	}
	fits, ok := w.PairFits(end)
	if !ok {
		return false // too many steps to tell: partial, never a silent answer
	}
	for k, n := c.after(from)+1, c.after(last); k < n; k++ {
		a, b := c.appends[k-1].UnixMilli(), c.appends[k].UnixMilli()
		if b-a < r.Range.Milliseconds() && fits(a, b) {
			return true
		}
	}
	return false
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
	// interval is the scrape loop's interval (ScrapeInterval); zero without a loop. The
	// spacing a window may start before the oldest scrape by is at most it
	// (history.ReachesBefore).
	interval time.Duration
	// pairs, when set, is History.PairWhere: whether a series the selector matches holds
	// two samples less than a range apart in a span (that fit one of a subquery's
	// windows).
	pairs func(ms []*labels.Matcher, from, to time.Time, rng time.Duration, fits func(a, b int64) bool) (pair, live bool)
	// answers, when set, evaluates expr at at over the history and reports whether it
	// answers anything.
	answers func(expr string, at time.Time) (bool, error)
}

// maxAnswerRuns bounds the evaluations callAnswers makes.
const maxAnswerRuns = 16

// callAnswers reports whether w's function, over a subquery's window, answers at one of
// the times it is evaluated at (end, or the steps of the subqueries around it), asking
// the engine: its window holds the subquery's points, which are there only where the
// expression inside answers. ok is false when it cannot tell (no engine, too many runs
// of steps, an evaluation that fails).
func (c coverage) callAnswers(w history.Window, end time.Time) (answers, ok bool) {
	if c.answers == nil {
		return false, false
	}
	if len(w.Subqueries) == 0 {
		a, err := c.answers(w.Text, end)
		return a, err == nil
	}
	runs, ok := w.Steps(end)
	if !ok || len(runs) > maxAnswerRuns {
		return false, false
	}
	for _, r := range runs {
		// The function at every step of the run: the multiples of its step in
		// (Last-(Last-First+1), Last].
		a, err := c.answers(fmt.Sprintf("count_over_time((%s)[%dms:%dms])", w.Text, r.Last-r.First+1, r.Step), time.UnixMilli(r.Last))
		if err != nil {
			return false, false
		}
		if a {
			return true, true
		}
	}
	return false, true
}

// assess returns, for the query name evaluated as expr at at: an error wrapping
// ErrNoHistory when a metric it reads is not stored (or began to be stored after at), a
// *PartialWindowError when a window that adds up over time reaches before what is held,
// and a warning for each window of an estimate (rate, avg_over_time, ...) that does, with
// the widest such window's error in estimate (nil when none), and the indexes (in
// history.Windows' order) of the rates among those windows, to evaluate over the span
// held (history.NarrowRates). An expression that does not parse gives none of them: its
// evaluation reports it.
func (c coverage) assess(name, expr string, at time.Time) (err error, warnings []string, estimate *PartialWindowError, narrow []int) {
	parsed, perr := history.Parse(expr)
	if perr != nil {
		return nil, nil, nil, nil
	}
	var partial *PartialWindowError
	for i, w := range history.Windows(parsed) {
		r := w.Read
		start, ok := c.since.from(r.Metric)
		if !ok || start.After(at) {
			metric := "metric " + r.Metric
			if r.Metric == "" {
				metric = "every metric"
			}
			return fmt.Errorf("query %q: %s: %w", name, metric, ErrNoHistory), nil, nil, nil
		}
		if c.oldest.After(start) {
			start = c.oldest
		}
		// An @ modifier moves the window, it does not cover it: @ start() and @ end() of
		// an instant query are its evaluation time, and a window pinned to a timestamp
		// reaches back from there.
		end := at
		if pinned, ok := r.PinnedAt(); ok {
			end = pinned
		}
		// A function that needs two samples answers nothing where no series it reads
		// holds two in its windows while one is still exposed: the pods holding them
		// failed their scrapes for longer than the range, or began within it (a model's
		// only pod back, or new). A series gone, or none, answers nothing, as in
		// Prometheus.
		lonely, live := false, true
		// Over a subquery's window it reads the subquery's points: the engine says
		// whether it answers (deriv(sum(rate(x[1m]))[5m:1m]) answers nothing while one
		// step of the rate answers).
		answers, asked := false, false
		if r.Pairs && w.Subquery {
			answers, asked = c.callAnswers(w, end)
		}
		if r.Pairs && r.Range > 0 && c.pairs != nil {
			from := end.Add(-r.Reach)
			if from.Before(start) {
				// From the append before start: start is where its scrape was stored
				// (its last pod's scrape, to the nanosecond), its samples are at their
				// pods' scrapes (in whole milliseconds), from its refresh's start on.
				from = c.since.before(start)
			}
			var fits func(a, b int64) bool
			if len(w.Subqueries) > 0 {
				if f, ok := w.PairFits(end); ok {
					fits = f
				} else {
					fits = func(a, b int64) bool { return false } // too many steps to tell: partial
				}
			}
			var pair bool
			pair, live = c.pairs(w.Matchers, from, end.Add(-r.Offset), r.Range, fits)
			lonely = live && !pair
			if asked {
				lonely = live && !answers
			}
		}
		pairs := func() bool { return c.since.pairIn(w, end, start) }
		if asked {
			// A series gone, or none, answers nothing, as in Prometheus.
			pairs = func() bool { return answers || !live }
		}
		held, gap, alone := at.Sub(start), time.Duration(0), false
		if from := end.Add(-r.Reach); !history.ReachesBefore(c.since.appends, start, from, end.Add(-r.Offset), c.interval, w.Extrapolates()) {
			// Within what is held, or before it by less than Prometheus extrapolates
			// over (1.1 times the scrapes' spacing: the answer is the full window's, as
			// serve decides it): partial only when the window starts in a gap, or its
			// series hold no two samples in it.
			after, g, ok := c.since.gapAt(from, r.Range > 0 && !pairs())
			if !ok && r.Range > 0 && len(w.Subqueries) > 0 {
				// The windows of a subquery's later steps start in a gap too.
				after, g, ok = c.since.gapInSteps(w, end, start)
			}
			switch {
			case ok:
				held, gap = at.Sub(after), g
			case from.Before(start) && r.Range > 0 && !pairs():
				// Before the first scrape, and none of its windows holds two scrapes
				// (a subquery's steps, or scrapes further apart than its range): nothing
				// to extrapolate from, as before the history.
			case !lonely:
				continue
			default:
				alone = true
			}
		}
		e := &PartialWindowError{Query: name, Func: r.Func, Window: r.Reach, Held: held, At: r.At, Gap: gap, lonely: alone}
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
		// A rate over one scrape answers nothing: whatever the expression answers then
		// (sum(rate(x[5m])) or vector(0)) is not an estimate from it, and must not read
		// as no load. A rate evaluated in a subquery has a window at every step: when no
		// two scrapes are close enough to share one, none answers. Only the appends
		// since start stored the metric: one registered minutes after the history began
		// has one scrape at its first refresh.
		single := r.Pairs && (lonely || len(c.since.appends) > 0 && !pairs())
		if r.Sums || single {
			if partial == nil || e.Window > partial.Window {
				partial = e
			}
			if r.Sums {
				continue
			}
		}
		if w := e.what() + ": estimated over the span held"; !slices.Contains(warnings, w) {
			warnings = append(warnings, w) // a ratio of two rates warns once
		}
		if estimate == nil || e.Window > estimate.Window {
			estimate = e
		}
		if w.Narrowable() {
			narrow = append(narrow, i)
		}
	}
	if partial != nil {
		return partial, warnings, estimate, narrow
	}
	return nil, warnings, estimate, narrow
}
