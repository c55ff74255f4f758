package history

import (
	"context"
	"errors"
	"math"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
)

var t0 = time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)

func newHistory(t testing.TB, opts Options) *History {
	t.Helper()
	opts.Dir = t.TempDir()
	h, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := h.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return h
}

// scrape builds a target's scrape at time at: name=value pairs, each labelled pod=target.
func scrape(target string, at time.Time, kv ...any) Scrape {
	sc := Scrape{Target: target, Time: at}
	for i := 0; i < len(kv); i += 2 {
		sc.Samples = append(sc.Samples, Sample{
			Labels: labels.FromStrings("__name__", kv[i].(string), "pod", target),
			T:      at.UnixMilli(),
			V:      kv[i+1].(float64),
		})
	}
	return sc
}

func mustAppend(t *testing.T, h *History, at time.Time, scrapes ...Scrape) AppendStats {
	t.Helper()
	st, err := h.Append(context.Background(), at, scrapes)
	if err != nil {
		t.Fatalf("Append at %s: %v", at, err)
	}
	return st
}

// query returns the result of expr at time at as pod -> value.
func query(t *testing.T, h *History, expr string, at time.Time) map[string]float64 {
	t.Helper()
	res, err := h.Query(context.Background(), expr, at)
	if err != nil {
		t.Fatalf("Query(%q) at %s: %v", expr, at, err)
	}
	got := map[string]float64{}
	for _, p := range res.Points {
		got[p.Metric.Get("pod")] = p.V
	}
	return got
}

func TestStalenessMarksVanishedSeries(t *testing.T) {
	h := newHistory(t, Options{})
	t1 := t0.Add(15 * time.Second)
	t2 := t1.Add(15 * time.Second)
	mustAppend(t, h, t0, scrape("a", t0, "queue", 3.0, "up", 1.0), scrape("b", t0, "queue", 4.0, "up", 1.0))
	// a stops exposing queue; b is gone altogether.
	st := mustAppend(t, h, t1, scrape("a", t1, "up", 1.0))
	if st.StaleMarkers != 3 {
		t.Errorf("StaleMarkers = %d, want 3 (a's queue, b's queue and up)", st.StaleMarkers)
	}
	if got := query(t, h, "queue", t0); len(got) != 2 {
		t.Errorf("queue at t0 = %v, want both pods", got)
	}
	// Without the markers the lookback delta would return t0's samples for 5 minutes.
	if got := query(t, h, "queue", t1); len(got) != 0 {
		t.Errorf("queue at t1 = %v, want nothing: the series are stale", got)
	}
	if got := query(t, h, "up", t2); len(got) != 1 || got["a"] != 1 {
		t.Errorf("up at t2 = %v, want only a=1", got)
	}
	// A series that comes back is no longer stale.
	mustAppend(t, h, t2, scrape("a", t2, "queue", 5.0, "up", 1.0))
	if got := query(t, h, "queue", t2); got["a"] != 5 {
		t.Errorf("queue at t2 = %v, want a=5", got)
	}
}

func TestSeriesWithOwnTimestampsAreNotMarkedStale(t *testing.T) {
	h := newHistory(t, Options{})
	sc := scrape("a", t0, "ts_metric", 7.0)
	sc.Samples[0].OwnTimestamp = true
	mustAppend(t, h, t0, sc)
	t1 := t0.Add(15 * time.Second)
	st := mustAppend(t, h, t1, scrape("a", t1))
	if st.StaleMarkers != 0 {
		t.Errorf("StaleMarkers = %d, want 0", st.StaleMarkers)
	}
	if got := query(t, h, "ts_metric", t1); got["a"] != 7 {
		t.Errorf("ts_metric at t1 = %v, want a=7 within the lookback delta", got)
	}
}

func TestSeriesLimitRefusesNewSeriesOnly(t *testing.T) {
	h := newHistory(t, Options{SeriesLimit: 2})
	mustAppend(t, h, t0, scrape("a", t0, "x", 1.0, "y", 1.0))
	t1 := t0.Add(time.Second)
	st, err := h.Append(context.Background(), t1, []Scrape{scrape("a", t1, "x", 2.0, "y", 2.0, "z", 2.0)})
	if !errors.Is(err, ErrSeriesLimit) {
		t.Fatalf("Append error = %v, want ErrSeriesLimit", err)
	}
	if st.Refused != 1 || st.Appended != 2 {
		t.Errorf("stats = %+v, want 1 refused and 2 appended", st)
	}
	if got := query(t, h, "x", t1); got["a"] != 2 {
		t.Errorf("x at t1 = %v, want a=2: held series keep receiving samples", got)
	}
	if got := query(t, h, "z", t1); len(got) != 0 {
		t.Errorf("z at t1 = %v, want nothing", got)
	}
	if n := h.NumSeries(); n != 2 {
		t.Errorf("NumSeries = %d, want 2", n)
	}
}

func TestRetentionDropsOldSamplesAndSeries(t *testing.T) {
	h := newHistory(t, Options{Retention: 4 * time.Minute})
	// A pod that is replaced after its first minute: its series must go with retention.
	at := t0
	mustAppend(t, h, at, scrape("old", at, "x", 1.0))
	for i := 1; i <= 40; i++ {
		at = t0.Add(time.Duration(i) * 15 * time.Second)
		mustAppend(t, h, at, scrape("new", at, "x", float64(i)))
	}
	if n := h.NumSeries(); n != 1 {
		t.Errorf("NumSeries after 10 minutes = %d, want 1: the replaced pod's series is past retention", n)
	}
	oldest, newest := h.Span()
	if !newest.Equal(at) {
		t.Errorf("Span newest = %s, want %s", newest, at)
	}
	if got, want := newest.Sub(oldest), 4*time.Minute; got != want {
		t.Errorf("Span = %s, want the retention %s", got, want)
	}
	// Truncation runs whenever the retention's bound has moved a quarter retention (1m)
	// since the last one: the bound reached t0+15s at 4m15s (nothing older but the
	// replaced pod's marker), then 1m15s, 2m15s, 3m15s, 4m15s and, at 9m15s, 5m15s. So at
	// 10m x holds its samples from 5m15s on: 20. Truncating every Retention would keep
	// those from 4m15s (24); never truncating, all 40.
	if got := query(t, h, "count_over_time(x[10m])", at); got["new"] != 20 {
		t.Errorf("samples of x kept = %v, want 20 (from 5m15s: truncated every quarter retention)", got["new"])
	}
}

// TestDefaultRetentionIsTenMinutes: a History with zero Options covers ten minutes: its
// span stops growing there, and a sample with its own timestamp is kept 9m59s back and
// refused 10m1s back.
func TestDefaultRetentionIsTenMinutes(t *testing.T) {
	h := newHistory(t, Options{})
	var at time.Time
	for i := 0; i <= 60; i++ { // 15 minutes
		at = t0.Add(time.Duration(i) * 15 * time.Second)
		mustAppend(t, h, at, scrape("a", at, "x", float64(i)))
	}
	if oldest, newest := h.Span(); newest.Sub(oldest) != 10*time.Minute {
		t.Errorf("Span = %s, want 10m", newest.Sub(oldest))
	}
	sc := Scrape{Target: "b", Time: at, Samples: []Sample{
		own("b", "kept", at.Add(-10*time.Minute+time.Second), 1),
		own("b", "dropped", at.Add(-10*time.Minute-time.Second), 1),
	}}
	st, _ := h.Append(context.Background(), at, []Scrape{sc})
	if st.Appended != 1 || !slices.Equal(st.RefusedNames, []string{"dropped"}) {
		t.Errorf("stats %+v, want only the sample 10m1s old refused", st)
	}
}

// TestSeriesLimitAdmitsSeriesAlreadyHeld: at the limit, a series the History still holds
// comes back without being refused, whether it was stale or another target's.
func TestSeriesLimitAdmitsSeriesAlreadyHeld(t *testing.T) {
	h := newHistory(t, Options{SeriesLimit: 2})
	shared := func(target string, at time.Time, v float64) Scrape {
		return Scrape{Target: target, Time: at, Samples: []Sample{{Labels: labels.FromStrings("__name__", "shared"), T: at.UnixMilli(), V: v}}}
	}
	mustAppend(t, h, t0, scrape("a", t0, "x", 1.0), shared("b", t0, 1))
	// a stops exposing x (marked stale, still held); b goes away (shared marked stale).
	t1 := t0.Add(15 * time.Second)
	mustAppend(t, h, t1, scrape("a", t1))
	// x comes back to a; shared comes back, now from c: both already held.
	t2 := t1.Add(15 * time.Second)
	st, err := h.Append(context.Background(), t2, []Scrape{scrape("a", t2, "x", 3.0), shared("c", t2, 3)})
	if err != nil || st.Refused != 0 || st.Appended != 2 {
		t.Fatalf("stats %+v, error %v; want both series admitted at the limit", st, err)
	}
	if got := query(t, h, "x", t2); got["a"] != 3 {
		t.Errorf("x at t2 = %v, want a=3", got)
	}
	if res, err := h.Query(context.Background(), "shared", t2); err != nil || len(res.Points) != 1 || res.Points[0].V != 3 {
		t.Errorf("shared at t2 = %+v, %v; want 3", res.Points, err)
	}
	// A series new to the History is still refused.
	t3 := t2.Add(15 * time.Second)
	if st, err := h.Append(context.Background(), t3, []Scrape{scrape("a", t3, "x", 4.0, "z", 4.0)}); !errors.Is(err, ErrSeriesLimit) || st.Refused != 1 {
		t.Errorf("a new series at the limit: stats %+v, error %v; want it refused", st, err)
	}
}

func TestQueryKinds(t *testing.T) {
	h := newHistory(t, Options{})
	// A counter rising by 1 every 15 s for 5 minutes: rate over [5m] is exactly 1/15
	// with Prometheus' extrapolation, since the samples cover the window.
	var at time.Time
	for i := 0; i <= 20; i++ {
		at = t0.Add(time.Duration(i) * 15 * time.Second)
		mustAppend(t, h, at, scrape("a", at, "requests_total", float64(i), "nan_gauge", math.NaN()))
	}
	tests := []struct {
		expr string
		kind Kind
		want float64
	}{
		{"rate(requests_total[5m])", KindVector, 1.0 / 15},
		{"increase(requests_total[5m])", KindVector, 20},
		{"max by (pod) (max_over_time(requests_total[1m]))", KindVector, 20},
		{"scalar(sum(requests_total))", KindScalar, 20},
		{"requests_total[1m]", KindMatrix, 20},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			res, err := h.Query(context.Background(), tt.expr, at)
			if err != nil {
				t.Fatal(err)
			}
			if res.Kind != tt.kind || len(res.Points) != 1 {
				t.Fatalf("got %s with %d points, want one %s point", res.Kind, len(res.Points), tt.kind)
			}
			if got := res.Points[0].V; math.Abs(got-tt.want) > 1e-9 {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	got := query(t, h, "nan_gauge", at)
	if v, ok := got["a"]; !ok || !math.IsNaN(v) {
		t.Errorf("nan_gauge = %v, want NaN kept as a value", got)
	}
	if _, err := h.Query(context.Background(), "sum(", at); err == nil {
		t.Error("a malformed expression gave no error")
	}
	if _, err := h.Query(context.Background(), `"text"`, at); err == nil {
		t.Error("a string result gave no error")
	}
}

func TestAnalyze(t *testing.T) {
	tests := []struct {
		expr   string
		all    bool
		names  []string
		window time.Duration
	}{
		{`max by (pod) (max_over_time(vllm:kv_cache_usage_perc{namespace="ns"}[1m]))`, false, []string{"vllm:kv_cache_usage_perc"}, time.Minute},
		{`rate(a_sum[5m]) / rate(a_count[5m])`, false, []string{"a_sum", "a_count"}, 5 * time.Minute},
		{`sum(increase(x[1h] offset 5m))`, false, []string{"x"}, time.Hour + 5*time.Minute},
		{`max_over_time(rate(x[1m])[10m:30s])`, false, []string{"x"}, 11 * time.Minute},
		{`max_over_time(x[10m:30s] offset 5m)`, false, []string{"x"}, 15 * time.Minute},
		{`max_over_time(rate(x[1m] offset 1m)[10m:30s] offset 5m)`, false, []string{"x"}, 17 * time.Minute},
		{`sum(increase(x[30m*2] offset (1m*5)))`, false, []string{"x"}, time.Hour + 5*time.Minute},
		{`max_over_time(rate(x[1m])[max_of(5m, 10m):30s])`, false, []string{"x"}, 11 * time.Minute},
		{`sum(q{a="b"}) or sum(q{c=""})`, false, []string{"q"}, 0},
		{`{job="x"}`, true, nil, 0},
		{`{__name__=~"vllm:.*"}`, true, nil, 0},
		{`vector(1)`, false, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			n, err := Analyze(tt.expr)
			if err != nil {
				t.Fatal(err)
			}
			if n.All != tt.all || !slices.Equal(n.Names, tt.names) || n.Window != tt.window {
				t.Errorf("got all=%v names=%q window=%s, want all=%v names=%q window=%s",
					n.All, n.Names, n.Window, tt.all, tt.names, tt.window)
			}
		})
	}
	if _, err := Analyze("sum("); err == nil {
		t.Error("Analyze of a malformed expression gave no error")
	}
}

func TestClosedHistoryFailsCleanly(t *testing.T) {
	h, err := New(Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	mustAppend(t, h, t0, scrape("a", t0, "x", 1.0))
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Append(context.Background(), t0.Add(time.Second), nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Append after Close: %v, want ErrClosed", err)
	}
	if _, err := h.Query(context.Background(), "x", t0); !errors.Is(err, ErrClosed) {
		t.Errorf("Query after Close: %v, want ErrClosed", err)
	}
	if err := h.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestSameMillisecondWritesNextMillisecond: a second scrape in the same millisecond is
// stored one millisecond later, so an instant query at that millisecond still reads the
// first and the later scrape wins from the next one.
func TestSameMillisecondWritesNextMillisecond(t *testing.T) {
	h := newHistory(t, Options{})
	mustAppend(t, h, t0, scrape("a", t0, "x", 1.0))
	st, err := h.Append(context.Background(), t0, []Scrape{scrape("a", t0, "x", 2.0)})
	if err != nil || st.Appended != 1 || st.Duplicates != 0 {
		t.Fatalf("second append in the same millisecond: stats %+v, error %v; want 1 appended and no error", st, err)
	}
	if got := query(t, h, "x", t0); got["a"] != 1 {
		t.Errorf("x at t0 = %v, want the first sample, 1", got)
	}
	if got := query(t, h, "x", t0.Add(time.Millisecond)); got["a"] != 2 {
		t.Errorf("x at t0+1ms = %v, want the second sample, 2", got)
	}
}

// TestDefaultSeriesLimitIsOneHundredThousand: a History given no SeriesLimit holds
// 100,000 series, the default that pod.PodScrapingSourceConfig.HistorySeriesLimit and
// serve.Config.SeriesLimit document, and refuses the next new one.
func TestDefaultSeriesLimitIsOneHundredThousand(t *testing.T) {
	h := newHistory(t, Options{})
	sc := Scrape{Target: "a", Time: t0, Samples: make([]Sample, 0, 100_001)}
	for i := range 100_001 {
		sc.Samples = append(sc.Samples, Sample{Labels: labels.FromStrings("__name__", "x", "i", strconv.Itoa(i)), T: t0.UnixMilli(), V: 1})
	}
	st, err := h.Append(context.Background(), t0, []Scrape{sc})
	if !errors.Is(err, ErrSeriesLimit) || st.Appended != 100_000 || st.Refused != 1 {
		t.Errorf("100,001 new series, no SeriesLimit: appended %d, refused %d, error %v; want 100,000, 1 and ErrSeriesLimit", st.Appended, st.Refused, err)
	}
}
