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
//   - each Select is over one of the windows Reads gives that metric (for a range query,
//     WindowsOver its step and range, as serve reads it): Reach, Offset and @ as the
//     engine computes the selected range. The windows decide whether an answer is
//     partial (ErrPartialWindow, serve's 422); one shorter than the engine's reads a
//     partial answer as whole.
//
// Expressions Reads cannot parse are left out (the sources' parser refuses them too:
// experimental functions); the test fails if fewer than 1,000 selects, or windows of
// instant and of range queries, were checked.
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
	if engine.checked < 1000 || engine.instantWindows < 1000 || engine.rangeWindows < 1000 {
		t.Fatalf("%d selects checked, %d instant and %d range queries' windows (%d expressions Reads could not parse): too few to say anything", engine.checked, engine.instantWindows, engine.rangeWindows, engine.unparsed)
	}
	t.Logf("%d selects checked, %d instant and %d range queries' windows; %d expressions left out, Reads could not parse them", engine.checked, engine.instantWindows, engine.rangeWindows, engine.unparsed)
}

// readsCheckingEngine is an engine whose queries read through a querier checking each
// Select against Reads of the query's expression.
type readsCheckingEngine struct {
	promql.QueryEngine
	t testing.TB

	mu                           sync.Mutex
	checked, unparsed            int
	instantWindows, rangeWindows int
}

func (e *readsCheckingEngine) NewInstantQuery(ctx context.Context, q storage.Queryable, opts promql.QueryOpts, qs string, ts time.Time) (promql.Query, error) {
	ev := &evaluation{start: ts.UnixMilli(), end: ts.UnixMilli(), lookback: lookbackOf(opts)}
	return e.QueryEngine.NewInstantQuery(ctx, e.checking(q, qs, ev), opts, qs, ts)
}

func (e *readsCheckingEngine) NewRangeQuery(ctx context.Context, q storage.Queryable, opts promql.QueryOpts, qs string, start, end time.Time, interval time.Duration) (promql.Query, error) {
	ev := &evaluation{start: start.UnixMilli(), end: end.UnixMilli(), lookback: lookbackOf(opts), step: interval, ranged: true}
	return e.QueryEngine.NewRangeQuery(ctx, e.checking(q, qs, ev), opts, qs, start, end, interval)
}

// lookbackOf is a query's lookback delta: its own, else the engine's default
// (promqltest's engine sets none, so promql's 5m).
func lookbackOf(opts promql.QueryOpts) time.Duration {
	if opts != nil && opts.LookbackDelta() > 0 {
		return opts.LookbackDelta()
	}
	return 5 * time.Minute
}

// evaluation is a query's start and end (ms; equal for an instant query), step, and
// lookback delta, by which each Select's time range is checked against the windows.
type evaluation struct {
	start, end int64
	step       time.Duration
	ranged     bool
	lookback   time.Duration
	// extended is set when a selector of the query is anchored or smoothed: the engine
	// reads a lookback delta before a range too (and a smoothed selector a lookback
	// delta past its end), to find the samples its range starts (and ends) from. Reach
	// is the range itself: the history covers an anchored window when it holds a sample
	// at or before the range's start, which its oldest sample being older than Reach
	// says.
	extended bool
}

// checking returns q with each Select checked against the windows of qs evaluated as ev:
// its metric named, and its time range one of the windows, as the engine computes it
// (getTimeRangesForSelector): from Reach (and the lookback delta, less a millisecond,
// for an instant selector; a millisecond less for a range) before the query's start, or
// the window's @, to Offset before its end, or the @.
func (e *readsCheckingEngine) checking(q storage.Queryable, qs string, ev *evaluation) storage.Queryable {
	expr, err := Parse(qs)
	if err != nil {
		e.mu.Lock()
		e.unparsed++
		e.mu.Unlock()
		return q
	}
	var ws []Window
	if ev.ranged {
		ws = WindowsOver(expr, ev.step, time.Duration(ev.end-ev.start)*time.Millisecond)
	} else {
		ws = Windows(expr)
	}
	parser.Inspect(expr, func(node parser.Node, _ []parser.Node) error {
		if vs, ok := node.(*parser.VectorSelector); ok && (vs.Anchored || vs.Smoothed) {
			ev.extended = true
		}
		return nil
	})
	reads := make([]Read, len(ws))
	names, all := map[string]bool{}, false
	for i := range ws {
		reads[i] = ws[i].Read
		if ws[i].Metric == "" {
			all = true
		}
		names[ws[i].Metric] = true
	}
	return storage.QueryableFunc(func(mint, maxt int64) (storage.Querier, error) {
		inner, err := q.Querier(mint, maxt)
		if err != nil {
			return nil, err
		}
		return &readsCheckingQuerier{Querier: inner, e: e, expr: qs, names: names, all: all, reads: reads, ev: ev}, nil
	})
}

type readsCheckingQuerier struct {
	storage.Querier
	e     *readsCheckingEngine
	expr  string
	names map[string]bool
	all   bool
	reads []Read
	ev    *evaluation
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
	if hints != nil && !q.windowRead(name, hints) {
		q.e.t.Errorf("%s over [%d, %d] step %s: the engine selects %v over [%d, %d] (range %d ms), no window Reads gives (%+v)",
			q.expr, q.ev.start, q.ev.end, q.ev.step, ms, hints.Start, hints.End, hints.Range, q.reads)
	}
	q.e.mu.Lock()
	q.e.checked++
	switch {
	case hints == nil:
	case q.ev.ranged:
		q.e.rangeWindows++
	default:
		q.e.instantWindows++
	}
	q.e.mu.Unlock()
	return q.Querier.Select(ctx, sorted, hints, ms...)
}

// windowRead reports whether a Read of metric (or of any metric, for a Read naming none)
// has the window hints select, for the query q.ev.
func (q *readsCheckingQuerier) windowRead(metric string, hints *storage.SelectHints) bool {
	for _, r := range q.reads {
		if r.Metric != metric && r.Metric != "" {
			continue
		}
		from, to := q.ev.start, q.ev.end
		pinned, ok := r.PinnedAt()
		switch {
		case ok:
			from, to = pinned.UnixMilli(), pinned.UnixMilli()
		case r.StartOrEnd == parser.START:
			to = from
		case r.StartOrEnd == parser.END:
			from = to
		}
		start := from - r.Reach.Milliseconds() + 1
		if hints.Range == 0 {
			start -= q.ev.lookback.Milliseconds()
		}
		end := to - r.Offset.Milliseconds()
		if hints.Start == start && hints.End == end {
			return true
		}
		lookback := q.ev.lookback.Milliseconds()
		if q.ev.extended && (hints.Start == start || hints.Range > 0 && hints.Start == start-lookback) && (hints.End == end || hints.End == end+lookback) {
			return true
		}
	}
	return false
}
