package history

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/util/teststorage"
)

// TestAnswersAsPrometheusHead appends the same scrapes to a History and, as Prometheus'
// scrape loop writes them (staleness markers for series gone from a scrape or with their
// target; samples with timestamps of their own in order, the first of a millisecond kept,
// none marked stale), to Prometheus' own head (teststorage), and asks both the same
// instant and range queries with the same engine: every answer bit for bit equal. 1,100
// scrapes a second apart, jittered, cut chunks and are truncated by a 10-minute
// retention; values are NaN, ±Inf, -0, the extremes of float64, counters past 2^53 that
// reset, gauges jumping by orders of magnitude; a series flaps, a target goes for 150
// scrapes and comes back. Queries read at the lookback delta's edge and at the retention's.
func TestAnswersAsPrometheusHead(t *testing.T) {
	for seed := uint64(1); seed <= 3; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { answersAsHead(t, seed) })
	}
}

func answersAsHead(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 7))
	h := newHistory(t, Options{Retention: 10 * time.Minute})
	ref := teststorage.New(t)
	special := []float64{math.NaN(), math.Inf(1), math.Inf(-1), math.Copysign(0, -1), 0, 1e308, 5e-324, 1 << 53, 1<<53 + 2, 9.007199254740993e15, -1e300, 1.5}
	type ser struct {
		name, pod string
		v         float64
		counter   bool
	}
	var all []ser
	for _, p := range []string{"a", "b", "c"} {
		for _, n := range []string{"g", "cnt", "h"} {
			all = append(all, ser{name: n, pod: p, counter: n == "cnt"})
		}
	}
	prev := map[string]labels.Labels{}
	otLast := map[string]int64{}
	interval := 1 * time.Second
	n := 1100
	var last time.Time
	for i := 0; i < n; i++ {
		at := t0.Add(time.Duration(i) * interval).Add(time.Duration(rng.IntN(300)) * time.Millisecond)
		last = at
		var scrapes []Scrape
		app := ref.Appender(context.Background())
		cur := map[string]labels.Labels{}
		for _, p := range []string{"a", "b", "c"} {
			if p == "c" && (i/150)%2 == 1 {
				continue // pod c gone for 150 scrapes
			}
			sc := Scrape{Target: p, Time: at}
			for k := range all {
				s := &all[k]
				if s.pod != p {
					continue
				}
				if s.name == "h" && rng.IntN(10) < 3 {
					continue // flapping series
				}
				switch {
				case s.counter:
					if rng.IntN(200) == 0 {
						s.v = 0
					} else {
						s.v += float64(rng.IntN(5)) * 1e15
					}
				case rng.IntN(4) == 0:
					s.v = special[rng.IntN(len(special))]
				case rng.IntN(3) == 0:
					s.v = rng.NormFloat64() * math.Pow(10, float64(rng.IntN(40)-20))
				}
				lset := labels.FromStrings("__name__", s.name, "pod", p)
				sc.Samples = append(sc.Samples, Sample{Labels: lset, T: at.UnixMilli(), V: s.v})
				cur[lset.String()] = lset
				if _, err := app.Append(0, lset, at.UnixMilli(), s.v); err != nil {
					t.Fatal(err)
				}
			}
			// A series with timestamps of its own: a little behind, sometimes repeated or
			// going back.
			ots := labels.FromStrings("__name__", "ots", "pod", p)
			ot := at.UnixMilli() - int64(rng.IntN(3000))
			if rng.IntN(10) == 0 {
				ot = otLast[p]
			}
			ov := float64(rng.IntN(100))
			if rng.IntN(8) == 0 {
				ov = special[rng.IntN(len(special))]
			}
			sc.Samples = append(sc.Samples, Sample{Labels: ots, T: ot, V: ov, OwnTimestamp: true})
			if ot > otLast[p] {
				otLast[p] = ot
				if _, err := app.Append(0, ots, ot, ov); err != nil {
					t.Fatal(err)
				}
			}
			scrapes = append(scrapes, sc)
		}
		for k, lset := range prev {
			if _, ok := cur[k]; !ok {
				if _, err := app.Append(0, lset, at.UnixMilli(), math.Float64frombits(value.StaleNaN)); err != nil {
					t.Fatal(err)
				}
			}
		}
		prev = cur
		if err := app.Commit(); err != nil {
			t.Fatal(err)
		}
		if _, err := h.Append(context.Background(), at, scrapes); err != nil && !errors.Is(err, ErrOutOfOrder) {
			t.Fatal(err)
		}
	}
	engine := promql.NewEngine(promql.EngineOpts{MaxSamples: 1 << 24, Timeout: time.Minute, LookbackDelta: DefaultLookbackDelta, EnableAtModifier: true, EnableNegativeOffset: true})
	exprs := []string{`g`, `cnt`, `h`, `rate(cnt[1m])`, `increase(cnt[5m])`, `resets(cnt[5m])`, `changes(g[2m])`, `last_over_time(h[1m])`,
		`timestamp(h)`, `count_over_time(h[3m])`, `max_over_time(g[30s])`, `min_over_time(g[1m])`, `sum_over_time(g[20s])`, `absent_over_time(h{pod="c"}[10s])`,
		`h offset 30s`, `g @ end()`, `irate(cnt[10s])`, `deriv(g[1m])`, `max_over_time(rate(cnt[10s])[1m:7s])`,
		`h{pod="c"}`, `count(h)`, `g[5s]`, `idelta(g[10s])`, `delta(g[30s])`,
		`ots`, `timestamp(ots)`, `count_over_time(ots[1m])`, `last_over_time(ots[5m])`, `ots{pod="c"}`, `rate(ots[30s])`}
	for k := 0; k < 120; k++ {
		at := last.Add(-time.Duration(rng.IntN(240000)) * time.Millisecond)
		if k < 3 {
			at = last.Add(-5 * time.Minute).Add(time.Duration(k) * time.Millisecond)
		}
		if k%7 == 0 {
			at = at.Truncate(time.Second)
		}
		for _, e := range exprs {
			got := evalBits(t, engine, h.Queryable(), e, at)
			want := evalBits(t, engine, ref, e, at)
			if got != want {
				t.Errorf("%s at %s:\n ours   %s\n theirs %s", e, at.Format(time.RFC3339Nano), got, want)
			}
		}
	}
	for _, e := range []string{`count_over_time(g[10m])`, `count_over_time(ots[10m])`, `h offset 5m`, `resets(cnt[10m])`, `count_over_time(g[9m59s999ms] offset 1ms)`, `first_over_time(g[10m])`} {
		got := evalBits(t, engine, h.Queryable(), e, last)
		want := evalBits(t, engine, ref, e, last)
		if got != want {
			t.Errorf("%s at the last append:\n ours   %.300s\n theirs %.300s", e, got, want)
		}
	}
	// Range queries.
	for k := 0; k < 10; k++ {
		end := last.Add(-time.Duration(rng.IntN(60000)) * time.Millisecond)
		start := end.Add(-3 * time.Minute)
		step := time.Duration(1+rng.IntN(20000)) * time.Millisecond
		for _, e := range exprs {
			got := evalRangeBits(t, engine, h.Queryable(), e, start, end, step)
			want := evalRangeBits(t, engine, ref, e, start, end, step)
			if got != want {
				t.Errorf("range %s %s..%s/%s:\n ours   %.500s\n theirs %.500s", e, start, end, step, got, want)
			}
		}
	}
}

// evalBits returns expr's answer at at over q as text, each value's bits included.
func evalBits(t *testing.T, e *promql.Engine, q storage.Queryable, expr string, at time.Time) string {
	qry, err := e.NewInstantQuery(context.Background(), q, nil, expr, at)
	if err != nil {
		t.Fatal(err)
	}
	defer qry.Close()
	res := qry.Exec(context.Background())
	if res.Err != nil {
		return "error " + res.Err.Error()
	}
	return valueBits(res.Value)
}

// evalRangeBits is evalBits of a range query.
func evalRangeBits(t *testing.T, e *promql.Engine, q storage.Queryable, expr string, start, end time.Time, step time.Duration) string {
	qry, err := e.NewRangeQuery(context.Background(), q, nil, expr, start, end, step)
	if err != nil {
		return "error " + err.Error()
	}
	defer qry.Close()
	res := qry.Exec(context.Background())
	if res.Err != nil {
		return "error " + res.Err.Error()
	}
	return valueBits(res.Value)
}

// valueBits writes a promql value as text, each value's bits included (NaN equals NaN).
func valueBits(v any) string {
	switch x := v.(type) {
	case promql.Vector:
		s := ""
		for _, smp := range x {
			s += fmt.Sprintf("%s@%d=%x;", smp.Metric, smp.T, math.Float64bits(smp.F))
		}
		return s
	case promql.Matrix:
		s := ""
		for _, sr := range x {
			s += sr.Metric.String() + ":"
			for _, p := range sr.Floats {
				s += fmt.Sprintf("%d=%x,", p.T, math.Float64bits(p.F))
			}
			s += ";"
		}
		return s
	case promql.Scalar:
		return fmt.Sprintf("%x", math.Float64bits(x.V))
	}
	return fmt.Sprint(v)
}
