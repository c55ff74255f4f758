package serve

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/podscrape/podscrape/internal/history"
)

// partialWindows checks the windows of an expression (history.Windows: the library's own
// analysis, so serve and the pod source class a function alike), evaluated from start
// (a range query: from its first step, its end at end), against the histories of the
// Services it reads. A window reaching back before a Service's oldest scrape by more than
// Prometheus extrapolates over (history.ReachesBefore, as the library decides it: 1.1
// times the spacing of its scrapes, at most its interval) is partial: for a summing function or an offset it is
// an error (HTTP 422) unless allowPartial, otherwise
// a warning, which estimates also holds for estimateEmpty: the error of an answer with no
// value at all (a rate over one scrape estimates nothing, and an empty answer would read
// as no load). A window within the history that starts in a gap of the Service's scrapes
// (history.GapAt over the times of the appends that stored a pod's scrape: an outage,
// every pod failing or discovery failing; in a subquery, the windows of its steps,
// history.Window.GapInSteps) is partial alike, as the library finds it: it reads only
// what came after the gap. A window of a function that needs two samples (rate, irate, deriv, ...)
// where no series holds two within its range (a history of one scrape, an offset moving
// it before the history, every pod failing its scrapes for longer than the range, even
// within the history) answers nothing whatever else the expression answers
// (rate(x[5m]) or vector(0) answers 0, "no load"), so it is an error too unless
// allowPartial. The error names the first 10 windows of Services (joinBounded), then how
// many more.
//
// An instant query (instant set) evaluated before a Service's oldest scrape still held
// reads nothing of it with an instant selector: such a selector is partial as an offset
// before the history is (x at an hour ago reads what x offset 1h reads at now). A range
// query's instant selectors are not checked: its steps before the history are gaps, as
// in a Prometheus server asked for more than its retention. A window or selector pinned
// by @ reads the same samples at every step: it is checked from its pinned time (@ start()
// and @ end() are the query's start and end), for a range query too.
//
// Whether a series holds two samples is asked of the windows the engine evaluates, as the
// library asks it (source/pod's coverage check): at the query's time, or at each of a
// range query's steps (step nonzero), and in subqueries at the steps they read
// (history.Window.PairFitsFrom; too many to tell is no pair, never a silent answer). A
// function over a subquery's range reads the subquery's points, which are there only
// where the expression inside answers: the engine says whether it answers (answers),
// over every Service's history, as the query reads them (the expression inside may join
// two Services' series).
//
// narrow holds, by their indexes in windows, an instant query's rates that are warned of
// (history.Window.Narrowable), each with the Services they are warned of: evaluated over
// the whole window, such a rate divides the increase of the span held by the whole range
// and reads low; the caller evaluates it over the span those Services hold (narrowRates).
func (s *Server) partialWindows(ctx context.Context, windows []history.Window, p queryParams, instant bool) (warnings, estimates []string, narrow map[int][]*service, err error) {
	start, end, step := p.start, p.end, p.step
	var errs []string
	var short []*service // the Services a window reads before what they hold, each once
	for i, w := range windows {
		at := start
		if pinned, ok := w.PinnedAt(); ok {
			at = pinned
		} else if w.StartOrEnd == parser.END {
			at = end
		}
		if w.Reach == 0 {
			if instant || w.Pinned {
				warnings, errs, short = s.beforeHistory(w, at, warnings, errs, short)
			}
			continue
		}
		from := at.Add(-w.Reach)
		// A range query's windows reach to its last step's.
		last := end
		if w.Pinned {
			last = at
		}
		last = last.Add(-w.Offset)
		// The times the engine evaluates the expression at, for this window.
		evals := []history.StepRun{{First: at.UnixMilli(), Last: at.UnixMilli()}}
		if !instant && !w.Pinned && step > 0 {
			n := end.Sub(start) / step
			evals[0] = history.StepRun{First: start.UnixMilli(), Last: start.Add(n * step).UnixMilli(), Step: step.Milliseconds()}
		}
		// Whether w's function over a subquery's range answers: asked once, when a
		// Service it reads needs it.
		var answered, answers, told bool
		for _, svc := range s.services {
			oldest, _ := svc.hist.Span()
			if oldest.IsZero() {
				continue
			}
			// Windows within the history are whole; but a function that needs two
			// samples answers nothing where no series holds two within its range (every
			// pod failed for longer, then one scrape since), and whatever else answers
			// (or vector(0)) is no estimate from it.
			partial := svc.reachesBefore(oldest, from, last, w.Extrapolates())
			// Within the history, a window starting in an outage of the Service (no
			// pod's scrape stored for minutes: every pod failed, or discovery did)
			// reads only what came after it, as the library finds it (source/pod's
			// coverage check): in a subquery's steps too. Only a history with appends
			// further apart than the shortest gap may have one.
			mayGap := !partial && svc.spaced.Load()
			if !partial && !mayGap && !w.Pairs || !svc.reads(w.Matchers) {
				continue
			}
			var gapEnd time.Time
			var gap time.Duration
			inGap := false
			if mayGap {
				appends := svc.appendTimes()
				gapEnd, gap, inGap = history.GapAt(appends, from)
				if !inGap && w.Range > 0 && len(w.Subqueries) > 0 {
					gapEnd, gap, inGap = w.GapInSteps(appends, at, oldest)
				}
			}
			if !partial && !inGap && !w.Pairs {
				continue
			}
			// No two samples in any of its windows (the one scrape held, an offset
			// moving them before the history, scrapes failing for longer than the
			// range): nothing to estimate from, in a subquery's steps too.
			// Within the history, only where a series is still exposed (one gone, or
			// none, answers nothing as in Prometheus).
			single := false
			if w.Pairs && w.Range > 0 {
				fits, ok := w.PairFitsFrom(evals)
				if !ok {
					fits = func(a, b int64) bool { return false } // too many steps to tell
				}
				pair, live := svc.hist.PairWhere(w.Matchers, from, last, w.Range, fits)
				if w.Subquery {
					if !answered {
						answered = true
						answers, told = s.answers(ctx, w, evals, p)
					}
					if told {
						pair = answers
					}
				}
				single = !pair && (live || partial)
			}
			if !partial && !single && !inGap {
				continue
			}
			if !slices.Contains(short, svc) {
				short = append(short, svc)
			}
			held := max(at.Sub(oldest).Truncate(time.Millisecond), 0)
			desc := fmt.Sprintf("%s reads back %s from %s, but service %s has samples only since %s (%s)",
				w.Text, model.Duration(w.Reach), at.UTC().Format(time.RFC3339), svc.key, oldest.UTC().Format(time.RFC3339), held)
			switch {
			case inGap && !single:
				desc = fmt.Sprintf("%s reads back %s from %s, but it starts in a gap of %s in service %s's scrapes (no pod's scrape stored until %s)",
					w.Text, model.Duration(w.Reach), at.UTC().Format(time.RFC3339), gap.Truncate(time.Millisecond), svc.key, gapEnd.UTC().Format(time.RFC3339))
			case !partial:
				desc = fmt.Sprintf("%s reads back %s from %s, but service %s has no two samples less than %s apart in it (its pods' scrapes failed, or none came, for longer)",
					w.Text, model.Duration(w.Reach), at.UTC().Format(time.RFC3339), svc.key, model.Duration(w.Range))
			}
			switch {
			case w.Sums && !s.cfg.AllowPartialWindows:
				errs = append(errs, fmt.Sprintf("partial window: %s: %s would answer less than the truth", desc, what(w)))
			case w.Sums:
				warnings = append(warnings, fmt.Sprintf("partial window: %s: the answer covers only that span and is smaller than over the full window", desc))
			case single && !s.cfg.AllowPartialWindows:
				errs = append(errs, fmt.Sprintf("partial window: %s: one scrape or none in its windows, from which %s estimates nothing (whatever else the expression answers does not come from it)", desc, w.Func))
			case inGap && !partial:
				// Estimated over what came after the gap; an empty answer is not for
				// want of history (estimateEmpty).
				warnings = append(warnings, fmt.Sprintf("partial window: %s: the answer is computed over that shorter span", desc))
			default:
				warnings = append(warnings, fmt.Sprintf("partial window: %s: the answer is computed over that shorter span", desc))
				estimates = append(estimates, desc)
			}
			// A Service with no two samples in the window has no rate to narrow to (and
			// narrowed to its one sample, the others' series would keep one too).
			if instant && w.Narrowable() && !w.Sums && !single {
				if narrow == nil {
					narrow = map[int][]*service{}
				}
				narrow[i] = append(narrow[i], svc)
			}
		}
	}
	for _, svc := range short {
		s.metrics.observePartial(svc.key)
	}
	if len(errs) > 0 {
		return warnings, estimates, nil, &apiError{errorExec, errors.New(joinBounded(errs, "such window"))}
	}
	return warnings, estimates, narrow, nil
}

// narrowRates returns expr, evaluated at at looking back lookback, with the windows of
// narrow (indexes in history.Windows' order, partialWindows) moved to the span held by
// every Service each is warned of (history.NarrowRates): from the latest of those
// Services' oldest samples for its selector in the window (history.Window.ReadsAfter),
// less the longest spacing of the scrapes of the Services holding its series there.
// From the oldest sample of any Service, one started a minute ago beside one scraped for
// an hour would divide its minute's increase by the whole range. Within a spacing of its
// own scrapes, the engine extrapolates a Service's rate to the window's start: the rate
// over the span it holds. And the other Services' series keep two samples: from the
// first sample itself, a Service's series would lose the sample of the same round of
// scrapes taken milliseconds earlier, and from a spacing of the younger one's scrapes,
// those of a Service scraped less often (the younger one scraped by queries reading it
// alone, under MaxAge) their one before; with one sample each, they answer no rate at
// all, where the younger one's, extrapolated over half its spacing only, reads low with
// its warning. An anchored or smoothed rate does not extrapolate and reads the samples
// before its window (the other Services' anchors): it starts at the first sample. It
// returns false when none moved.
func (s *Server) narrowRates(expr string, at time.Time, lookback time.Duration, narrow map[int][]*service) (string, bool) {
	narrowed, moved, err := history.NarrowRates(expr, at, func(i int, w history.Window) (time.Time, bool) {
		if len(narrow[i]) == 0 {
			return time.Time{}, false
		}
		var from time.Time
		var spacing time.Duration
		for _, svc := range s.services {
			first, ok := svc.hist.FirstSample(w.Matchers, w.ReadsAfter(at, lookback), at.Add(-w.Offset))
			if !ok {
				continue
			}
			spacing = max(spacing, svc.spacing(first, at))
			if slices.Contains(narrow[i], svc) && first.After(from) {
				from = first
			}
		}
		if from.IsZero() {
			return from, false
		}
		if !w.Extended() {
			from = from.Add(-spacing)
		}
		return from, true
	})
	return narrowed, moved && err == nil
}

// maxAnswerRuns bounds the evaluations answers makes, as the library's check bounds its.
const maxAnswerRuns = 16

// answers reports whether w's function, over a subquery's range, answers at one of the
// times the engine evaluates it at when the expression is evaluated at evals (the
// query's time or steps; in subqueries, the steps they read), over the histories as the
// query reads them, with its lookback and options: it reads the subquery's points, which
// are there only where the expression inside answers (deriv(sum(rate(x[1m]))[5m:1m])
// answers nothing while one step of the rate answers). ok is false when it cannot tell
// (too many runs of times, an evaluation that fails): the caller counts pairs of samples
// then.
func (s *Server) answers(ctx context.Context, w history.Window, evals []history.StepRun, p queryParams) (answers, ok bool) {
	runs, ok := w.StepsFrom(evals)
	if !ok || len(runs) > maxAnswerRuns {
		return false, false
	}
	q := s.queryable(p.lookback)
	for _, r := range runs {
		var qry promql.Query
		var err error
		if r.Step == 0 || r.First == r.Last {
			qry, err = s.engine.NewInstantQuery(ctx, q, p.opts, w.Text, time.UnixMilli(r.Last))
		} else {
			qry, err = s.engine.NewRangeQuery(ctx, q, p.opts, w.Text, time.UnixMilli(r.First), time.UnixMilli(r.Last), time.Duration(r.Step)*time.Millisecond)
		}
		if err != nil {
			return false, false
		}
		res := qry.Exec(ctx)
		failed, a := res.Err != nil, res.Err == nil && !empty(res.Value)
		qry.Close() // the engine takes back the result's slices: read first
		if failed {
			return false, false
		}
		if a {
			return true, true
		}
	}
	return false, true
}

// beforeHistory checks a selector w that reads no window (Reach zero) at time at: a
// Service it reads whose oldest scrape still held is after at has no sample for it. It
// appends the error (or, under AllowPartialWindows, the warning) to errs (warnings), and
// the Service to short.
func (s *Server) beforeHistory(w history.Window, at time.Time, warnings, errs []string, short []*service) ([]string, []string, []*service) {
	for _, svc := range s.services {
		oldest, _ := svc.hist.Span()
		if oldest.IsZero() || !at.Before(oldest) || !svc.reads(w.Matchers) {
			continue
		}
		if !slices.Contains(short, svc) {
			short = append(short, svc)
		}
		desc := fmt.Sprintf("%s at %s: service %s has samples only since %s (%s)", w.Text,
			at.UTC().Format(warningTime), svc.key, oldest.UTC().Format(warningTime), later(oldest, at))
		if s.cfg.AllowPartialWindows {
			warnings = append(warnings, fmt.Sprintf("before the history: %s: the answer leaves the service out", desc))
		} else {
			errs = append(errs, fmt.Sprintf("before the history: %s: its answer would leave the service out", desc))
		}
	}
	return warnings, errs, short
}

// later says how long after at oldest is: a gap longer than a time.Duration holds
// (about 292 years: a time at the year 1, or a Unix time of 1e20 read back) as such,
// not as the largest Duration, which Sub gives for it.
func later(oldest, at time.Time) string {
	d := oldest.Sub(at)
	if d == time.Duration(math.MaxInt64) {
		return "over 292 years later"
	}
	return d.Truncate(time.Millisecond).String() + " later"
}

// estimateEmpty is the error of an answer with no value whose estimates' windows
// (partialWindows) reach before the history: nil under AllowPartialWindows, which
// answers it with their warnings.
func (s *Server) estimateEmpty(estimates []string) error {
	if len(estimates) == 0 || s.cfg.AllowPartialWindows {
		return nil
	}
	return &apiError{errorExec, fmt.Errorf("partial window: %s: too little history to estimate from, no value", joinBounded(estimates, "such window"))}
}

// maxNamed is how many Services, or windows of Services, one error names: a query over
// hundreds of Services down or short of history (a --config of many Services, a
// cluster-wide outage) would otherwise be answered an error of hundreds of KB, which KEDA
// and prometheus-adapter log whole at every poll. Prometheus' API bounds a query's
// annotations at 10 likewise; /api/v1/targets and /metrics have every Service's state.
const maxNamed = 10

// joinBounded joins parts with "; ", each once, the first maxNamed of them in their
// order, then how many more of noun ("service", "such window": "1 more service", "2 more
// services") there were.
func joinBounded(parts []string, noun string) string {
	kept := make([]string, 0, min(len(parts), maxNamed))
	seen := make(map[string]bool, len(parts))
	omitted := 0
	for _, p := range parts {
		if seen[p] {
			continue
		}
		seen[p] = true
		if len(kept) < maxNamed {
			kept = append(kept, p)
		} else {
			omitted++
		}
	}
	s := strings.Join(kept, "; ")
	if omitted > 0 {
		if omitted > 1 {
			noun += "s"
		}
		s += fmt.Sprintf("; and %d more %s", omitted, noun)
	}
	return s
}

// what names what a partial window's answer is.
func what(w history.Window) string {
	if w.Func == "" {
		return "the offset"
	}
	return w.Func
}
