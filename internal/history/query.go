package history

import (
	"context"
	"fmt"
	"sync"
	"time"
	"weak"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/storage"
)

// engine is Prometheus' query engine with the options a Prometheus server starts with.
type engine struct {
	*promql.Engine
	opts promql.QueryOpts
}

// engineKey is what an engine's answers depend on among a history's Options.
type engineKey struct {
	maxSamples        int
	timeout, lookback time.Duration
}

// engines are the engines in use, by their options: histories with the same options
// share one. An engine holds no state of the storage it reads (the history passes its
// own to each query) and runs queries concurrently, but it costs about 290 KB (its
// query-timing summaries), and a controller holds a history per model variant. Held
// weakly: an engine no history uses any more is collected.
var engines struct {
	sync.Mutex
	m map[engineKey]weak.Pointer[engine]
}

// newEngine is the engine for o, shared with every history of the same options.
func newEngine(o Options) *engine {
	k := engineKey{maxSamples: o.MaxSamples, timeout: o.QueryTimeout, lookback: o.LookbackDelta}
	engines.Lock()
	defer engines.Unlock()
	if e := engines.m[k].Value(); e != nil {
		return e
	}
	if engines.m == nil {
		engines.m = map[engineKey]weak.Pointer[engine]{}
	}
	for key, p := range engines.m {
		if p.Value() == nil {
			delete(engines.m, key)
		}
	}
	e := &engine{
		Engine: promql.NewEngine(promql.EngineOpts{
			MaxSamples:    o.MaxSamples,
			Timeout:       o.QueryTimeout,
			LookbackDelta: o.LookbackDelta,
			// Prometheus' defaults since 2.33, and its evaluation_interval default for
			// subqueries without a step.
			EnableAtModifier:         true,
			EnableNegativeOffset:     true,
			NoStepSubqueryIntervalFn: func(int64) int64 { return DefaultSubqueryStep.Milliseconds() },
		}),
		opts: promql.NewPrometheusQueryOpts(false, o.LookbackDelta, nil),
	}
	engines.m[k] = weak.Make(e)
	return e
}

// DefaultSubqueryStep is the step of a subquery that gives none ([5m:]): Prometheus'
// default evaluation_interval, as a Prometheus server evaluates it.
const DefaultSubqueryStep = time.Minute

// Kind is the type of a query's result.
type Kind string

// The kinds of result a PromQL expression has.
const (
	KindVector Kind = "vector"
	KindScalar Kind = "scalar"
	KindMatrix Kind = "matrix"
	KindString Kind = "string"
)

// Point is one series of a result at one time: a vector's sample, a scalar (no labels),
// or the latest sample of a range vector's series.
type Point struct {
	Metric labels.Labels // the series' labels; empty for a scalar
	T      int64         // milliseconds since the Unix epoch
	V      float64
}

// Result is what an instant query returned. Its slices are the caller's.
type Result struct {
	Kind     Kind
	Points   []Point
	Warnings []string // the engine's warnings and infos (annotations), as text
}

// Query evaluates the PromQL expression expr at time at over the stored history. A parse
// error, an evaluation error (too many samples, timeout, ctx ending) or a string result
// is an error.
func (h *History) Query(ctx context.Context, expr string, at time.Time) (Result, error) {
	h.life.RLock()
	defer h.life.RUnlock()
	if h.closed {
		return Result{}, ErrClosed
	}
	q, err := h.engine.NewInstantQuery(ctx, h.db, h.engine.opts, expr, at)
	if err != nil {
		return Result{}, err
	}
	defer q.Close()
	res := q.Exec(ctx)
	if res.Err != nil {
		return Result{}, res.Err
	}
	out := Result{}
	warnings, infos := res.Warnings.AsStrings(expr, 0, 0)
	out.Warnings = append(warnings, infos...)
	switch v := res.Value.(type) {
	case promql.Vector:
		out.Kind = KindVector
		out.Points = make([]Point, 0, len(v))
		for _, s := range v {
			if s.H != nil {
				continue // native histograms are never stored: scrapes are text
			}
			out.Points = append(out.Points, Point{Metric: s.Metric, T: s.T, V: s.F})
		}
	case promql.Scalar:
		out.Kind = KindScalar
		out.Points = []Point{{T: v.T, V: v.V}}
	case promql.Matrix:
		out.Kind = KindMatrix
		out.Points = make([]Point, 0, len(v))
		for _, s := range v {
			if n := len(s.Floats); n > 0 {
				out.Points = append(out.Points, Point{Metric: s.Metric, T: s.Floats[n-1].T, V: s.Floats[n-1].F})
			}
		}
	default:
		return Result{}, fmt.Errorf("result of type %s is not a vector, scalar or range vector", res.Value.Type())
	}
	return out, nil
}

// Queryable returns the stored series as a Prometheus storage.Queryable, for a caller that
// evaluates PromQL with its own engine (across several histories, for instance). It is safe
// for concurrent use with appends: each Querier sees, in every Select, the appends
// committed when it was made. Close every Querier (promql's engine does): while one is
// open, appends keep what it may read. Queriers made after Close fail with ErrClosed;
// those made before keep reading what they saw. Its queries must look back
// Options.LookbackDelta, as the History's own do; a query that looks back otherwise (a
// lookback_delta of its own) reads QueryableLookback.
func (h *History) Queryable() storage.Queryable { return h.QueryableLookback(0) }

// QueryableLookback is Queryable for queries that look back lookback (zero:
// Options.LookbackDelta). A Select is recognised as an instant selector's, of which the
// engine reads only each series' latest sample, by its hints' span of one lookback delta
// less a millisecond; a smoothed selector's spans two of its query's lookback delta, so
// the Querier must know that one.
func (h *History) QueryableLookback(lookback time.Duration) storage.Queryable {
	if lookback <= 0 {
		lookback = h.opts.LookbackDelta
	}
	return storage.QueryableFunc(func(mint, maxt int64) (storage.Querier, error) {
		h.life.RLock()
		defer h.life.RUnlock()
		if h.closed {
			return nil, ErrClosed
		}
		return h.db.querier(mint, maxt, lookback.Milliseconds()), nil
	})
}

// Parse parses expr as the engine will, so a caller can report a bad expression before
// scraping.
func Parse(expr string) (parser.Expr, error) {
	p := parser.NewParser(parser.Options{})
	return p.ParseExpr(expr)
}
