package history

import (
	"bytes"
	"cmp"
	"context"
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

// wholeChunks is a Queryable of the store that Selects as if no instant selector were
// asked: it widens each Select's hints by a millisecond back, which only adds samples
// the engine drops itself, and makes the store hand out whole chunks.
type wholeChunks struct{ q storage.Queryable }

func (w wholeChunks) Querier(mint, maxt int64) (storage.Querier, error) {
	q, err := w.q.Querier(mint, maxt)
	return widened{q}, err
}

type widened struct{ storage.Querier }

func (w widened) Select(ctx context.Context, sortSeries bool, hints *storage.SelectHints, ms ...*labels.Matcher) storage.SeriesSet {
	if hints != nil {
		h := *hints
		h.Start--
		hints = &h
	}
	return w.Querier.Select(ctx, sortSeries, hints, ms...)
}

// An instant query's instant selectors read each series' latest sample alone
// (store.instantSelect, querier.latest), and every expression gives what it gives when
// the store hands out whole chunks: plain, aggregated, timestamp(), offsets, @, smoothed,
// subqueries, ranges, at the last append, between appends, at and past the lookback
// delta's edge, before the first sample, after a staleness marker and past a series'
// last sample.
func TestInstantSelectorsReadTheLatestSample(t *testing.T) {
	h := newHistory(t, Options{})
	const step = 15 * time.Second
	var last time.Time
	for i := range 40 {
		at := t0.Add(time.Duration(i) * step)
		scrapes := []Scrape{scrape("a", at, "x", float64(i), "gone", 1.0)}
		if i >= 20 { // gone vanishes from a (a staleness marker), b stops at 30
			scrapes = []Scrape{scrape("a", at, "x", float64(i))}
		}
		if i <= 30 {
			scrapes = append(scrapes, scrape("b", at, "x", float64(100-i), "y", math.NaN()))
		}
		mustAppend(t, h, at, scrapes...)
		last = at
	}

	at := func(d time.Duration) string {
		return strconv.FormatFloat(float64(last.Add(d).UnixMilli())/1000, 'f', 3, 64)
	}
	exprs := []string{
		`x`, `gone`, `y`, `max(x)`, `count(x)`, `timestamp(x)`, `x offset 1m`, `x offset -1m`,
		`x @ ` + at(-2*step), `x @ start()`, `x smoothed`, `x + on(pod) group_left x`,
		`max_over_time(x[2m:30s])`, `rate(x[1m])`, `absent(z)`, `absent(gone)`, `count_over_time(x[10m])`,
	}
	times := []time.Duration{
		0, time.Millisecond, step / 2, -step / 2, -time.Millisecond, 4*time.Minute + 59*time.Second,
		5 * time.Minute, 5*time.Minute + time.Millisecond, -40 * step, -10 * step, -9*step - time.Millisecond,
	}
	engine := promql.NewEngine(promql.EngineOpts{MaxSamples: 1 << 20, Timeout: time.Minute, LookbackDelta: DefaultLookbackDelta,
		EnableAtModifier: true, EnableNegativeOffset: true})
	eval := func(q storage.Queryable, expr string, ts time.Time) string {
		qry, err := engine.NewInstantQuery(context.Background(), q, nil, expr, ts)
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		defer qry.Close()
		res := qry.Exec(context.Background())
		if res.Err != nil {
			return "error: " + res.Err.Error()
		}
		return res.Value.String()
	}
	for _, expr := range exprs {
		for _, d := range times {
			ts := last.Add(d)
			got, want := eval(h.Queryable(), expr, ts), eval(wholeChunks{h.Queryable()}, expr, ts)
			if got != want {
				t.Errorf("%s at last%+v:\n latest only: %s\n whole chunks: %s", expr, d, got, want)
			}
		}
	}

	// The path is taken: an instant query's selector gets one sample per series.
	q, err := h.Queryable().Querier(math.MinInt64, math.MaxInt64)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	end := last.UnixMilli()
	hints := &storage.SelectHints{Start: end - DefaultLookbackDelta.Milliseconds() + 1, End: end}
	set := q.Select(context.Background(), false, hints, labels.MustNewMatcher(labels.MatchEqual, "__name__", "x"))
	n := 0
	for set.Next() {
		samples := 0
		for it := set.At().Iterator(nil); it.Next() == chunkenc.ValFloat; {
			samples++
		}
		if samples != 1 {
			t.Errorf("%s: %d samples for an instant selector, want its latest alone", set.At().Labels(), samples)
		}
		n++
	}
	if n != 2 {
		t.Errorf("%d series of x, want 2", n)
	}
}

// A one-sample chunk is what the appender writes for a chunk's first sample.
func TestOneSampleChunk(t *testing.T) {
	var sl slab
	for _, s := range []xorSample{{0, 0}, {-1, math.Inf(-1)}, {1700000000123, 0.5}, {math.MaxInt64, math.NaN()}, {math.MinInt64, -0.0}} {
		a := newXORAppender(chunkCap)
		a.append(s.t, s.v)
		if got, want := sl.oneSample(s.t, s.v), a.header(); !bytes.Equal(got, want) {
			t.Errorf("(%d, %v): %x, want %x", s.t, s.v, got, want)
		}
	}
}

// recording is a Queryable that keeps the hints of every Select.
type recording struct {
	q     storage.Queryable
	hints []storage.SelectHints
}

func (r *recording) Querier(mint, maxt int64) (storage.Querier, error) {
	q, err := r.q.Querier(mint, maxt)
	return recordingQuerier{q, r}, err
}

type recordingQuerier struct {
	storage.Querier
	r *recording
}

func (q recordingQuerier) Select(ctx context.Context, sortSeries bool, hints *storage.SelectHints, ms ...*labels.Matcher) storage.SeriesSet {
	q.r.hints = append(q.r.hints, *hints)
	return q.Querier.Select(ctx, sortSeries, hints, ms...)
}

// Of the hints promql's engine gives its Selects, only an instant query's instant
// selectors' pass querier.instantSelect: not a smoothed one's (it reads samples after the
// query's time), nor a subquery's, a range function's or a range query's (span -1: an
// instant query), whatever lookback delta the query asks for, as long as the Querier
// knows it (QueryableLookback): a smoothed selector's span at half the History's
// lookback delta is an instant selector's at the History's.
func TestInstantSelectGate(t *testing.T) {
	h := newHistory(t, Options{})
	mustAppend(t, h, t0, scrape("a", t0, "x", 1.0))
	engine := promql.NewEngine(promql.EngineOpts{MaxSamples: 1 << 20, Timeout: time.Minute, LookbackDelta: DefaultLookbackDelta})
	for _, lookback := range []time.Duration{0, DefaultLookbackDelta / 2} {
		for _, tc := range []struct {
			expr  string
			rng   time.Duration // a range query's span, if one
			wants bool
		}{
			{`x`, -1, true},
			{`timestamp(x)`, -1, true},
			{`max by (pod) (x offset 1m)`, -1, true},
			{`x smoothed`, -1, false},
			{`max_over_time(x[2m:30s])`, -1, false},
			{`rate(x[1m])`, -1, false},
			{`x`, time.Minute, false},
			{`x`, 0, false}, // a range query of one step: a step, so not the instant path
		} {
			r := &recording{q: h.QueryableLookback(lookback)}
			opts := promql.NewPrometheusQueryOpts(false, lookback, nil)
			var qry promql.Query
			var err error
			if tc.rng >= 0 {
				qry, err = engine.NewRangeQuery(context.Background(), r, opts, tc.expr, t0, t0.Add(tc.rng), 15*time.Second)
			} else {
				qry, err = engine.NewInstantQuery(context.Background(), r, opts, tc.expr, t0)
			}
			if err != nil {
				t.Fatal(err)
			}
			if res := qry.Exec(context.Background()); res.Err != nil {
				t.Fatalf("%s: %v", tc.expr, res.Err)
			}
			qry.Close()
			if len(r.hints) != 1 {
				t.Fatalf("%s: %d Selects, want 1", tc.expr, len(r.hints))
			}
			lb := cmp.Or(lookback, DefaultLookbackDelta)
			q := h.db.querier(math.MinInt64, math.MaxInt64, lb.Milliseconds())
			if got := q.instantSelect(&r.hints[0]); got != tc.wants {
				t.Errorf("%s (lookback %v, range query span %v): instantSelect(%+v) = %v, want %v", tc.expr, lb, tc.rng, r.hints[0], got, tc.wants)
			}
			if tc.expr == `x smoothed` && lookback == DefaultLookbackDelta/2 {
				// The hole a Querier of the History's lookback delta would have.
				wrong := h.db.querier(math.MinInt64, math.MaxInt64, DefaultLookbackDelta.Milliseconds())
				if !wrong.instantSelect(&r.hints[0]) {
					t.Errorf("a smoothed selector at half the lookback delta no longer spans an instant one's: the case is moot")
				}
				_ = wrong.Close()
			}
			_ = q.Close()
		}
	}
}
