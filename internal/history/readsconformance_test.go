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
	"github.com/prometheus/prometheus/promql/promqltest"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/util/teststorage"
)

// TestReadsNameEverySelectOfPromQLConformance holds Reads to what Prometheus' engine
// selects: over every expression of Prometheus' own PromQL test files, each Select the
// engine makes names a metric Reads lists, or Reads says a selector names none (all). A
// source stores only the metrics its queries' Reads name: a selection Reads missed is a
// metric never stored, and its query answers nothing, with no error, for ever.
// Expressions Reads cannot parse are left out (the sources' parser refuses them too:
// experimental functions); the test fails if fewer than 1,000 selects were checked.
func TestReadsNameEverySelectOfPromQLConformance(t *testing.T) {
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
	if engine.checked < 1000 {
		t.Fatalf("%d selects checked (%d expressions Reads could not parse): too few to say anything", engine.checked, engine.unparsed)
	}
	t.Logf("%d selects checked; %d expressions left out, Reads could not parse them", engine.checked, engine.unparsed)
}

// readsCheckingEngine is an engine whose queries read through a querier checking each
// Select against Reads of the query's expression.
type readsCheckingEngine struct {
	promql.QueryEngine
	t testing.TB

	mu                sync.Mutex
	checked, unparsed int
}

func (e *readsCheckingEngine) NewInstantQuery(ctx context.Context, q storage.Queryable, opts promql.QueryOpts, qs string, ts time.Time) (promql.Query, error) {
	return e.QueryEngine.NewInstantQuery(ctx, e.checking(q, qs), opts, qs, ts)
}

func (e *readsCheckingEngine) NewRangeQuery(ctx context.Context, q storage.Queryable, opts promql.QueryOpts, qs string, start, end time.Time, interval time.Duration) (promql.Query, error) {
	return e.QueryEngine.NewRangeQuery(ctx, e.checking(q, qs), opts, qs, start, end, interval)
}

// checking returns q with each Select checked against Reads(qs).
func (e *readsCheckingEngine) checking(q storage.Queryable, qs string) storage.Queryable {
	reads, err := Reads(qs)
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
		return &readsCheckingQuerier{Querier: inner, e: e, expr: qs, names: names, all: all}, nil
	})
}

type readsCheckingQuerier struct {
	storage.Querier
	e     *readsCheckingEngine
	expr  string
	names map[string]bool
	all   bool
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
	q.e.mu.Lock()
	q.e.checked++
	q.e.mu.Unlock()
	return q.Querier.Select(ctx, sorted, hints, ms...)
}
