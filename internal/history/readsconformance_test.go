package history

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/promql/promqltest"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/util/teststorage"
)

// TestReadsAreWhatPromQLConformanceSelects holds Reads to what Prometheus' engine
// selects, over every expression of Prometheus' own PromQL test files:
//   - each Select names a metric Reads lists, or Reads says a selector names none (all).
//     A source stores only the metrics its queries' Reads name: a selection Reads missed
//     is a metric never stored, its query answering nothing, with no error, for ever;
//   - each Select of an instant query (what a source evaluates) is over the window of
//     one of Reads' windows of that metric: Reach, Offset and @ as the engine computes
//     the selected range. The windows decide whether an answer is partial
//     (ErrPartialWindow); one shorter than the engine's reads a partial answer as whole.
//
// Expressions Reads cannot parse are left out (the sources' parser refuses them too:
// experimental functions); the test fails if fewer than 1,000 selects, or instant
// windows, were checked.
func TestReadsAreWhatPromQLConformanceSelects(t *testing.T) {
	dir := promqltestData(t)
	files, err := filepath.Glob(filepath.Join(dir, "*.test"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no promqltest files in %s: %v", dir, err)
	}
	engine := &readsCheckingEngine{QueryEngine: promqltest.NewTestEngine(t, false, 0, promqltest.DefaultMaxSamplesPerQuery), t: t}
	newStorage := func(t testing.TB) storage.Storage {
		return &testStorage{s: newStore(DefaultLookbackDelta), hist: teststorage.New(t)}
	}
	for _, file := range files {
		name := filepath.Base(file)
		if _, skipped := skippedFiles[name]; skipped {
			continue
		}
		content, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(name, func(t *testing.T) {
			promqltest.RunTestWithStorage(t, string(content), engine, newStorage)
		})
	}
	engine.mu.Lock()
	defer engine.mu.Unlock()
	if engine.checked < 1000 || engine.windows < 1000 {
		t.Fatalf("%d selects checked, %d of them instant queries' windows (%d expressions Reads could not parse): too few to say anything", engine.checked, engine.windows, engine.unparsed)
	}
	t.Logf("%d selects checked, %d of them instant queries' windows; %d expressions left out, Reads could not parse them", engine.checked, engine.windows, engine.unparsed)
}

// readsCheckingEngine is an engine whose queries read through a querier checking each
// Select against Reads of the query's expression.
type readsCheckingEngine struct {
	promql.QueryEngine
	t testing.TB

	mu                         sync.Mutex
	checked, windows, unparsed int
}

func (e *readsCheckingEngine) NewInstantQuery(ctx context.Context, q storage.Queryable, opts promql.QueryOpts, qs string, ts time.Time) (promql.Query, error) {
	lookback := defaultEngineLookback
	if opts != nil && opts.LookbackDelta() > 0 {
		lookback = opts.LookbackDelta()
	}
	return e.QueryEngine.NewInstantQuery(ctx, e.checking(q, qs, &instant{at: ts.UnixMilli(), lookback: lookback}), opts, qs, ts)
}

func (e *readsCheckingEngine) NewRangeQuery(ctx context.Context, q storage.Queryable, opts promql.QueryOpts, qs string, start, end time.Time, interval time.Duration) (promql.Query, error) {
	return e.QueryEngine.NewRangeQuery(ctx, e.checking(q, qs, nil), opts, qs, start, end, interval)
}

// defaultEngineLookback is the engine's lookback delta when neither it nor the query
// sets one: promql's default.
const defaultEngineLookback = 5 * time.Minute

// instant is an instant query's evaluation time (ms) and lookback delta, by which each
// Select's time range is checked against the windows Reads gives.
type instant struct {
	at       int64
	lookback time.Duration
	// extended is set when a selector of the query is anchored or smoothed: the engine
	// reads a lookback delta before a range too (and a smoothed selector a lookback
	// delta past its end), to find the samples its range starts (and ends) from. Reach
	// is the range itself: the history covers an anchored window when it holds a sample
	// at or before the range's start, which its oldest sample being older than Reach
	// says.
	extended bool
}

// checking returns q with each Select checked against Reads(qs): its metric named, and,
// for an instant query (at), its time range one of a Read's windows, as the engine
// computes it (getTimeRangesForSelector): from Reach (and the lookback delta, less a
// millisecond, for an instant selector; a millisecond less for a range) before the
// evaluation time, or the Read's @, to Offset before it.
func (e *readsCheckingEngine) checking(q storage.Queryable, qs string, at *instant) storage.Queryable {
	reads, err := Reads(qs)
	if err == nil && at != nil {
		e, _ := Parse(qs)
		parser.Inspect(e, func(node parser.Node, _ []parser.Node) error {
			if vs, ok := node.(*parser.VectorSelector); ok && (vs.Anchored || vs.Smoothed) {
				at.extended = true
			}
			return nil
		})
	}
	if err != nil {
		e.mu.Lock()
		e.unparsed++
		e.mu.Unlock()
		return q
	}
	names, all := map[string]bool{}, false
	for _, r := range reads {
		if r.Metric == "" {
			all = true
		}
		names[r.Metric] = true
	}
	return storage.QueryableFunc(func(mint, maxt int64) (storage.Querier, error) {
		inner, err := q.Querier(mint, maxt)
		if err != nil {
			return nil, err
		}
		return &readsCheckingQuerier{Querier: inner, e: e, expr: qs, names: names, all: all, reads: reads, at: at}, nil
	})
}

type readsCheckingQuerier struct {
	storage.Querier
	e     *readsCheckingEngine
	expr  string
	names map[string]bool
	all   bool
	reads []Read
	at    *instant // nil for a range query: its windows are not checked
}

func (q *readsCheckingQuerier) Select(ctx context.Context, sorted bool, hints *storage.SelectHints, ms ...*labels.Matcher) storage.SeriesSet {
	name := ""
	for _, m := range ms {
		if m.Name == labels.MetricName && m.Type == labels.MatchEqual {
			name = m.Value
		}
	}
	if !q.all && !q.names[name] {
		q.e.t.Errorf("%s: the engine selects %v, which Reads does not name (it names %v): that metric would never be stored", q.expr, ms, q.names)
	}
	windowed := q.at != nil && hints != nil
	if windowed && !q.windowRead(name, hints) {
		q.e.t.Errorf("%s at %d: the engine selects %v over [%d, %d] (range %d ms), no window Reads gives (%+v)", q.expr, q.at.at, ms, hints.Start, hints.End, hints.Range, q.reads)
	}
	q.e.mu.Lock()
	q.e.checked++
	if windowed {
		q.e.windows++
	}
	q.e.mu.Unlock()
	return q.Querier.Select(ctx, sorted, hints, ms...)
}

// windowRead reports whether a Read of metric (or of any metric, for a Read naming none)
// has the window hints select, for the instant query at q.at.
func (q *readsCheckingQuerier) windowRead(metric string, hints *storage.SelectHints) bool {
	for _, r := range q.reads {
		if r.Metric != metric && r.Metric != "" {
			continue
		}
		base := q.at.at
		if !r.At.IsZero() {
			base = r.At.UnixMilli()
		}
		start := base - r.Reach.Milliseconds() + 1
		if hints.Range == 0 {
			start -= q.at.lookback.Milliseconds()
		}
		end := base - r.Offset.Milliseconds()
		if hints.Start == start && hints.End == end {
			return true
		}
		lookback := q.at.lookback.Milliseconds()
		if q.at.extended && (hints.Start == start || hints.Range > 0 && hints.Start == start-lookback) && (hints.End == end || hints.End == end+lookback) {
			return true
		}
	}
	return false
}
