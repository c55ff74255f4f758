package history

import (
	"math"
	"sort"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// Read is one way an expression reads the past of one selector: the window of a range
// selector or a subquery, or an instant selector's own offset, and what the function over
// the window does when the history holds less than the window.
type Read struct {
	// Metric is the metric name the selector reads (its __name__ equality matcher); empty
	// when it does not name one, so any series may be read.
	Metric string
	// Func is the function over the window ("increase", "rate"); empty for an instant
	// selector (Range zero) or a range returned as the expression's result.
	Func string
	// Range is the window's own range; zero for an instant selector.
	Range time.Duration
	// Reach is how far back from the evaluation time the window starts: its range, the
	// ranges of the subqueries it is evaluated in, and every offset on the way. An
	// instant selector's Reach is its offsets.
	Reach time.Duration
	// Offset is the sum of the offsets on the way (negative ones included): the window
	// ends that long before the evaluation time, or, evaluated in a subquery, its last
	// step's window does. Every window the selector is read over lies between Reach and
	// Offset back.
	Offset time.Duration
	// Step is the step of the subquery the window is evaluated in, when it is evaluated
	// in exactly one: its resolution, or DefaultSubqueryStep when it has none. Zero for
	// a window outside any subquery, or in nested ones. The engine evaluates a subquery
	// at the multiples of its step within its range, StepOffset before the evaluation
	// time; the window's own offset is Offset less StepOffset.
	Step time.Duration
	// StepOffset is that subquery's own offset; zero when Step is.
	StepOffset time.Duration
	// Sums says the function adds up over time (increase, delta, sum_over_time,
	// count_over_time, changes, resets, absent_over_time, first_over_time, and functions
	// this package does not know): over a shorter span it answers a smaller number, or
	// none, or another sample, not a noisier one. An instant selector with an offset or
	// an @ Sums too: before the history there is no sample at all. Rates and per-sample
	// figures (rate, irate, the *_over_time estimates, deriv, predict_linear, ...) and a
	// range returned as the result (its newest sample) do not: over a shorter span they
	// are right, only less smoothed.
	Sums bool
	// Pairs says the function answers nothing from a single sample (rate, irate, idelta,
	// deriv, predict_linear, double_exponential_smoothing): over a window holding one
	// scrape, whatever the expression answers does not come from it (or vector(0)).
	Pairs bool
	// Pinned says an @ modifier fixes the window's time, whatever the evaluation time:
	// Reach counts back from At, or, when At is zero, from the query's start() or end()
	// (StartOrEnd), both an instant query's evaluation time. A window evaluated inside
	// one pinned reads the same samples at every step: it has no Read of its own.
	Pinned bool
	// At is the time of an @ modifier with a timestamp (UTC); zero otherwise, and zero
	// too for @ -62135596800 (the year 1, Go's zero time): PinnedAt tells them apart.
	At time.Time
	// StartOrEnd is parser.START or parser.END for @ start() or @ end(); zero otherwise.
	StartOrEnd parser.ItemType
}

// PinnedAt returns At and true when an @ modifier with a timestamp fixes the window's
// time (Pinned, and not by start() or end()), the year 1 included.
func (r Read) PinnedAt() (time.Time, bool) {
	return r.At, r.Pinned && r.StartOrEnd == 0
}

// estimates are the functions over a range whose answer over a shorter span is an
// estimate of the same figure, not a part of a sum. first_over_time and
// ts_of_first_over_time are not: they read the window's first sample, and over a
// shorter span another one (x - first_over_time(x[1h]) is the growth over the hour; over
// a shorter span, a smaller number).
var estimates = map[string]bool{
	"rate": true, "irate": true, "idelta": true, "deriv": true, "predict_linear": true,
	"avg_over_time": true, "min_over_time": true, "max_over_time": true,
	"quantile_over_time": true, "stddev_over_time": true, "stdvar_over_time": true,
	"mad_over_time": true, "last_over_time": true,
	"present_over_time": true, "ts_of_min_over_time": true, "ts_of_max_over_time": true,
	"ts_of_last_over_time": true, "holt_winters": true, "double_exponential_smoothing": true,
}

// pairs are the estimates that need two samples in their window to answer at all.
var pairs = map[string]bool{
	"rate": true, "irate": true, "idelta": true, "deriv": true, "predict_linear": true,
	"holt_winters": true, "double_exponential_smoothing": true,
}

// level is one window on the way from the expression's root to a selector.
type level struct {
	fn     string
	text   string // the window as PromQL: the call over it, else the window itself
	rng    time.Duration
	step   time.Duration // a subquery's step; zero for a range selector or instant selector
	offset time.Duration
	pin    *int64                 // the @ modifier's timestamp (ms)
	edge   parser.ItemType        // @ start() or @ end()
	matrix *parser.MatrixSelector // the range selector; nil for a subquery or instant selector
}

// pinned reports whether an @ modifier fixes the level's time.
func (l level) pinned() bool { return l.pin != nil || l.edge != 0 }

// Window is a Read with what a message about it and a check of the series it reads need.
type Window struct {
	Read
	// Text is the window as PromQL: the function call over it ("increase(x[10m])"), else
	// the range selector, subquery or instant selector itself.
	Text string
	// Matchers are the selector's label matchers; they belong to the parsed expression.
	Matchers []*labels.Matcher
	// Subqueries are the subqueries the window is evaluated in, outermost first, from the
	// innermost @ on (the windows outside it read the same samples at every step); empty
	// outside any. The engine evaluates the window at each of the times they step
	// through (see Subquery): for nested ones, only those the outer steps read count.
	Subqueries []Subquery
	// Subquery says the window is a subquery's range: what the function over it reads
	// are the points of the subquery's steps, not samples of the selector.
	Subquery bool
	// matrix is the range selector of the window, in the parsed expression; nil for a
	// subquery's range or an instant selector. NarrowRates moves its range.
	matrix *parser.MatrixSelector
}

// Subquery is one subquery a window is evaluated in. Evaluated at t, the engine evaluates
// what is inside it at the multiples of Step in (t-Offset-Range, t-Offset], and the
// function over it reads those points (Prometheus' subqueryEvaluationTimes).
type Subquery struct {
	Range  time.Duration
	Step   time.Duration // its resolution, or DefaultSubqueryStep when it gives none
	Offset time.Duration
}

// Reads parses expr and returns how it reads the past: one Read per selector and per
// window (range selector or subquery) it is evaluated in, outermost window first; an
// instant selector outside any window gives one Read of Range zero. The slice is the
// caller's.
func Reads(expr string) ([]Read, error) {
	e, err := Parse(expr)
	if err != nil {
		return nil, err
	}
	ws := Windows(e)
	out := make([]Read, len(ws))
	for i := range ws {
		out[i] = ws[i].Read
	}
	return out, nil
}

// Windows returns the Reads of a parsed expression, as Reads does, each with its text and
// its selector's matchers. The slice is the caller's. Its duration expressions' step()
// and range() are an instant query's: zero (see WindowsOver).
func Windows(e parser.Expr) []Window {
	return WindowsOver(e, 0, 0)
}

// WindowsOver is Windows for a range query of step over rng (its end less its start):
// step() and range() in a duration expression are those, as the engine evaluates them
// (rate(x[step()*4]) at a 15 s step reads 1m). See StepDependent.
func WindowsOver(e parser.Expr, step, rng time.Duration) []Window {
	dur := func(d time.Duration, expr *parser.DurationExpr) time.Duration { return durationOf(d, expr, step, rng) }
	var out []Window
	parser.Inspect(e, func(node parser.Node, path []parser.Node) error {
		vs, ok := node.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		metric := metricOf(vs)
		var levels []level
		for i, p := range path {
			switch w := p.(type) {
			case *parser.SubqueryExpr:
				fn, text := consumer(path[:i], w)
				step := dur(w.Step, w.StepExpr)
				if step <= 0 {
					step = DefaultSubqueryStep
				}
				levels = append(levels, level{fn: fn, text: text, rng: dur(w.Range, w.RangeExpr), step: step,
					offset: dur(w.OriginalOffset, w.OriginalOffsetExpr), pin: w.Timestamp, edge: w.StartOrEnd})
			case *parser.MatrixSelector:
				// The selector's @ and offset move its range's window.
				fn, text := consumer(path[:i], w)
				levels = append(levels, level{fn: fn, text: text, rng: dur(w.Range, w.RangeExpr),
					offset: dur(vs.OriginalOffset, vs.OriginalOffsetExpr), pin: vs.Timestamp, edge: vs.StartOrEnd, matrix: w})
			}
		}
		if !isMatrix(path) {
			// An instant selector, alone or inside a subquery: its own offset reaches back.
			levels = append(levels, level{text: vs.String(), offset: dur(vs.OriginalOffset, vs.OriginalOffsetExpr),
				pin: vs.Timestamp, edge: vs.StartOrEnd})
		}
		// The innermost @ fixes the time of its level and of those inside it: the
		// windows outside it read the same samples at every step, and have no Read.
		first := 0
		for i, l := range levels {
			if l.pinned() {
				first = i
			}
		}
		levels = levels[first:]
		// Every offset on the way counts for every window: each moves the times the
		// windows inside it read.
		var offsets time.Duration
		for _, l := range levels {
			offsets += l.offset
		}
		var ranges time.Duration
		var subs []Subquery
		for i, l := range levels {
			if i > 0 && levels[i-1].step > 0 {
				p := levels[i-1]
				subs = append(subs[:len(subs):len(subs)], Subquery{Range: p.rng, Step: p.step, Offset: p.offset})
			}
			ranges += l.rng
			r := Read{Metric: metric, Func: l.fn, Range: l.rng, Reach: ranges + offsets, Offset: offsets}
			if i == 1 && levels[0].step > 0 {
				r.Step, r.StepOffset = levels[0].step, levels[0].offset
			}
			if p := levels[0]; p.pinned() {
				r.Pinned, r.StartOrEnd = true, p.edge
				if p.pin != nil {
					r.At = time.UnixMilli(*p.pin).UTC()
				}
			}
			switch {
			case l.rng == 0 && i > 0:
				continue // an instant selector inside a subquery: the subquery's Read says it
			case l.rng == 0:
				// Before the history there is no sample at all.
				r.Sums = offsets > 0 || r.Pinned
			case l.fn == "":
				r.Sums = false
			default:
				r.Sums = !estimates[l.fn]
				r.Pairs = pairs[l.fn]
			}
			out = append(out, Window{Read: r, Text: l.text, Matchers: vs.LabelMatchers, Subqueries: subs, Subquery: l.step > 0, matrix: l.matrix})
		}
		return nil
	})
	return out
}

// duration is durationOf for an instant query.
func duration(d time.Duration, expr *parser.DurationExpr) time.Duration {
	return durationOf(d, expr, 0, 0)
}

// durationOf returns d, or what expr comes to when the range or offset is a duration
// expression (`[5m*2]`, `offset (1h/2)`): the parser leaves d zero then, and the engine
// evaluates expr before the query runs, step() and range() being the query's step and
// span (an instant query's: zero). An expression the engine would refuse (a division by
// zero) gives d: the query fails.
func durationOf(d time.Duration, expr *parser.DurationExpr, step, rng time.Duration) time.Duration {
	if expr == nil {
		return d
	}
	secs, ok := durationSeconds(expr, step, rng)
	if !ok || math.IsNaN(secs) || math.IsInf(secs, 0) || math.Abs(secs) > float64(math.MaxInt64/int64(time.Second)) {
		return d
	}
	return time.Duration(secs*1000) * time.Millisecond
}

// durationSeconds evaluates a duration expression in seconds, as the engine does, for a
// query of step over rng.
func durationSeconds(expr parser.Expr, step, rng time.Duration) (float64, bool) {
	switch e := expr.(type) {
	case *parser.NumberLiteral:
		return e.Val, true
	case *parser.ParenExpr:
		return durationSeconds(e.Expr, step, rng)
	case *parser.DurationExpr:
		var l, r float64
		if e.LHS != nil {
			v, ok := durationSeconds(e.LHS, step, rng)
			if !ok {
				return 0, false
			}
			l = v
		}
		if e.RHS != nil {
			v, ok := durationSeconds(e.RHS, step, rng)
			if !ok {
				return 0, false
			}
			r = v
		}
		switch e.Op {
		case parser.STEP:
			return step.Seconds(), true
		case parser.RANGE:
			return rng.Seconds(), true
		case parser.MIN_OF:
			return math.Min(l, r), true
		case parser.MAX_OF:
			return math.Max(l, r), true
		case parser.ADD:
			return l + r, true // a unary plus has no LHS: 0 + r
		case parser.SUB:
			return l - r, true // a unary minus: 0 - r
		case parser.MUL:
			return l * r, true
		case parser.DIV:
			return l / r, r != 0
		case parser.MOD:
			return math.Mod(l, r), r != 0
		case parser.POW:
			return math.Pow(l, r), true
		}
	}
	return 0, false
}

// StepDependent reports whether one of e's ranges, steps or offsets is a duration
// expression reading step() or range(): its Windows depend on the query's step and span
// (WindowsOver).
func StepDependent(e parser.Expr) bool {
	found := false
	parser.Inspect(e, func(node parser.Node, _ []parser.Node) error {
		switch n := node.(type) {
		case *parser.VectorSelector:
			found = found || readsStep(n.OriginalOffsetExpr)
		case *parser.MatrixSelector:
			found = found || readsStep(n.RangeExpr)
		case *parser.SubqueryExpr:
			found = found || readsStep(n.RangeExpr) || readsStep(n.StepExpr) || readsStep(n.OriginalOffsetExpr)
		}
		return nil
	})
	return found
}

// readsStep reports whether a duration expression reads step() or range().
func readsStep(expr parser.Expr) bool {
	switch e := expr.(type) {
	case *parser.ParenExpr:
		return readsStep(e.Expr)
	case *parser.DurationExpr:
		if e == nil {
			return false
		}
		return e.Op == parser.STEP || e.Op == parser.RANGE || readsStep(e.LHS) || readsStep(e.RHS)
	}
	return false
}

// isMatrix reports whether the selector at the end of path is a range selector's.
func isMatrix(path []parser.Node) bool {
	if len(path) == 0 {
		return false
	}
	_, ok := path[len(path)-1].(*parser.MatrixSelector)
	return ok
}

// consumer returns the name of the function whose argument is the window w under path,
// skipping parentheses, and the text of that call; an empty name and w's own text when
// the window is not a function's argument.
func consumer(path []parser.Node, w parser.Node) (string, string) {
	for i := len(path) - 1; i >= 0; i-- {
		switch p := path[i].(type) {
		case *parser.ParenExpr:
			continue
		case *parser.Call:
			return p.Func.Name, p.String()
		default:
			return "", w.String()
		}
	}
	return "", w.String()
}

// metricOf returns the metric name a selector names with an equality matcher, or "".
func metricOf(vs *parser.VectorSelector) string {
	for _, m := range vs.LabelMatchers {
		if m.Name == labels.MetricName && m.Type == labels.MatchEqual {
			return m.Value
		}
	}
	return ""
}

// StepRun is a run of the times a window is evaluated at, in milliseconds since the
// epoch: First, First+Step, ... up to Last (Last-First a multiple of Step; a subquery's
// steps are multiples of Step, a range query's start where the query starts); Step zero:
// First alone.
type StepRun struct{ First, Last, Step int64 }

// maxStepRuns bounds the runs Steps computes; past it Steps cannot tell.
const maxStepRuns = 1 << 14

// Steps returns the times, in runs in order, at which the engine evaluates the window
// (the call over it) when the expression is evaluated at at (a pinned window: at its
// pinned time), counting only those the subqueries around it read: evaluated at t, a
// subquery evaluates what is inside it at the multiples of its step in
// (t-Offset-Range, t-Offset] (Prometheus' subqueryEvaluationTimes: a nested subquery is
// evaluated over the span of its parent's steps, and each parent step reads the points of
// its own window). Outside any subquery it is at alone. It reports false when the times
// it would expand one by one (the steps of a range query or of an outer subquery longer
// than the subquery's range, each before those that meet are merged) and the runs made
// so far come to 16384 or more.
func (w Window) Steps(at time.Time) ([]StepRun, bool) {
	return w.StepsFrom([]StepRun{{at.UnixMilli(), at.UnixMilli(), 0}})
}

// StepsFrom is Steps for the expression evaluated at each time of runs (in order): a
// range query's steps, one run from its start to its last step by its step. A pinned
// window is evaluated at its pinned time alone, whatever the query's steps: pass that.
func (w Window) StepsFrom(runs []StepRun) ([]StepRun, bool) {
	for _, q := range w.Subqueries {
		step, rng, off := q.Step.Milliseconds(), q.Range.Milliseconds(), q.Offset.Milliseconds()
		if step <= 0 {
			return nil, false
		}
		var next []StepRun
		// add adds the multiples of step in (lo, hi].
		add := func(lo, hi int64) {
			first, last := floorDiv(lo, step)*step+step, floorDiv(hi, step)*step
			if first > last {
				return
			}
			if n := len(next); n > 0 && first <= next[n-1].Last+step {
				next[n-1].Last = max(next[n-1].Last, last)
				return
			}
			next = append(next, StepRun{first, last, step})
		}
		for _, t := range runs {
			if t.Step == 0 || t.Step <= rng {
				// The windows of successive times touch or overlap: one span.
				add(t.First-off-rng, t.Last-off)
				continue
			}
			if (t.Last-t.First)/t.Step+int64(len(next)) >= maxStepRuns {
				return nil, false
			}
			for s := t.First; s <= t.Last; s += t.Step {
				add(s-off-rng, s-off)
			}
		}
		runs = next
	}
	return runs, true
}

// PairFits returns whether two samples at a and b (ms), less than the window's Range
// apart, lie in one of the windows it is evaluated over when the expression is evaluated
// at at: a step s (see Steps) whose window (s-own-Range, s-own] holds both, own being the
// offsets inside the innermost subquery. For History.PairWhere: whether a function that
// needs two samples answers at one of its steps, not only whether the span they cover
// holds two. It reports false when the steps are too many to tell.
func (w Window) PairFits(at time.Time) (func(a, b int64) bool, bool) {
	return w.PairFitsFrom([]StepRun{{at.UnixMilli(), at.UnixMilli(), 0}})
}

// PairFitsFrom is PairFits for the expression evaluated at each time of runs (StepsFrom):
// whether one of the windows of a range query's steps holds both samples.
func (w Window) PairFitsFrom(from []StepRun) (func(a, b int64) bool, bool) {
	runs, ok := w.StepsFrom(from)
	if !ok {
		return nil, false
	}
	o, rng := w.ownOffset(), w.Range.Milliseconds()
	return func(a, b int64) bool {
		// b+own <= s < a+own+rng.
		return stepIn(runs, b+o, a+o+rng-1)
	}, true
}

// StartsIn reports whether one of the windows w is evaluated over when the expression is
// evaluated at at (see Steps) starts in [from, to) (ms): a step s whose window
// (s-own-Range, s-own] has its start bound there, own being the offsets inside the
// innermost subquery. It reports true when the steps are too many to tell.
func (w Window) StartsIn(at time.Time, from, to int64) bool {
	runs, ok := w.Steps(at)
	if !ok {
		return true
	}
	o, rng := w.ownOffset(), w.Range.Milliseconds()
	return stepIn(runs, from+o+rng, to-1+o+rng)
}

// ownOffset returns, in milliseconds, the offsets inside the innermost subquery the window
// is evaluated in: its windows end that long before the subquery's steps.
func (w Window) ownOffset() int64 {
	own := w.Offset
	for _, q := range w.Subqueries {
		own -= q.Offset
	}
	return own.Milliseconds()
}

// stepIn reports whether one of runs' times lies in [l, u].
func stepIn(runs []StepRun, l, u int64) bool {
	i := sort.Search(len(runs), func(i int) bool { return runs[i].Last >= l })
	for ; i < len(runs) && runs[i].First <= u; i++ {
		lo, hi := max(runs[i].First, l), min(runs[i].Last, u)
		// The run's first time at or after lo: its times are First plus multiples of Step.
		if lo <= hi && (runs[i].Step == 0 || runs[i].First+ceilDiv(lo-runs[i].First, runs[i].Step)*runs[i].Step <= hi) {
			return true
		}
	}
	return false
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

func ceilDiv(a, b int64) int64 { return -floorDiv(-a, b) }
