package history

import (
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
)

// FirstSample finds the oldest value in (from, to] among the matching series that hold
// two values there: staleness markers, samples outside the span, other series' samples
// and a series of one value (no rate from it: a series exposed with a fixed timestamp of
// its own, older than the others') not counted.
func TestFirstSample(t *testing.T) {
	h := newHistory(t, Options{Retention: time.Hour})
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	mustAppend(t, h, at(0), scrape("a", at(0), "x", 1.0), scrape("b", at(0), "y", 1.0))
	mustAppend(t, h, at(5), scrape("c", at(5), "x", 7.0))             // c's only x
	mustAppend(t, h, at(15), scrape("b", at(15), "y", 2.0, "x", 1.0)) // a's x goes stale at 15s
	mustAppend(t, h, at(30), scrape("a", at(30), "x", 2.0), scrape("b", at(30), "x", 2.0, "y", 3.0))
	mustAppend(t, h, at(45), scrape("a", at(45), "x", 3.0), scrape("b", at(45), "x", 3.0, "y", 4.0))
	x := []*labels.Matcher{labels.MustNewMatcher(labels.MatchEqual, "__name__", "x")}
	ofA := append(x[:1:1], labels.MustNewMatcher(labels.MatchEqual, "pod", "a"))
	for _, tc := range []struct {
		name     string
		ms       []*labels.Matcher
		from, to time.Time
		want     time.Time
		ok       bool
	}{
		{"every x", x, at(-1), at(60), at(0), true},
		{"from excluded", x, at(0), at(60), at(15), true}, // b's first x; a's stale marker at 15s is not a value, c's one x not a rate
		{"a after its marker", ofA, at(0), at(60), at(30), true},
		{"to included", ofA, at(0), at(45), at(30), true},
		{"one value in the span", ofA, at(0), at(44), time.Time{}, false},
		{"none in the span", ofA, at(0), at(29), time.Time{}, false},
		{"no such series", []*labels.Matcher{labels.MustNewMatcher(labels.MatchEqual, "__name__", "z")}, at(-1), at(60), time.Time{}, false},
	} {
		got, ok := h.FirstSample(tc.ms, tc.from, tc.to)
		if ok != tc.ok || ok && !got.Equal(tc.want) {
			t.Errorf("%s: FirstSample = %s, %v; want %s, %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}

// NarrowRates moves only a rate over a range selector evaluated at the query's time, and
// only to a shorter range starting a millisecond before the given first sample; the
// text it returns parses to the narrowed expression.
func TestNarrowRates(t *testing.T) {
	at := t0.Add(time.Minute)
	first := at.Add(-45 * time.Second) // 45 s held
	for _, tc := range []struct{ expr, want string }{
		{`rate(x[5m])`, `rate(x[45s1ms])`},
		{`sum by (pod) (rate(x{pod!=""}[5m]))`, `sum by (pod) (rate(x{pod!=""}[45s1ms]))`},
		{`rate(x[5m] offset 15s)`, `rate(x[30s1ms] offset 15s)`},
		{`rate(x[2m+3m])`, `rate(x[45s1ms])`},
		{`rate(x[30s])`, `rate(x[30s])`},                                             // shorter than the span held: whole
		{`irate(x[5m])`, `irate(x[5m])`},                                             // right over the shorter span already
		{`increase(x[5m])`, `increase(x[5m])`},                                       // a partial window, not an estimate
		{`rate(x[5m] @ 100)`, `rate(x[5m] @ 100)`},                                   // pinned
		{`max_over_time(rate(x[5m])[10m:1m])`, `max_over_time(rate(x[5m])[10m:1m])`}, // in a subquery
		{`rate(x[5m:1m])`, `rate(x[5m:1m])`},                                         // over a subquery
	} {
		got, moved, err := NarrowRates(tc.expr, at, func(int, Window) (time.Time, bool) { return first, true })
		if err != nil {
			t.Fatalf("%s: %v", tc.expr, err)
		}
		if moved != (tc.want != tc.expr) {
			t.Errorf("NarrowRates(%s) reports moved %v", tc.expr, moved)
		}
		want := tc.want
		if moved {
			e, err := Parse(tc.want)
			if err != nil {
				t.Fatalf("%s: %v", tc.want, err)
			}
			want = e.String()
		}
		if got != want {
			t.Errorf("NarrowRates(%s) = %s, want %s", tc.expr, got, want)
		}
		if _, err := Parse(got); err != nil {
			t.Errorf("NarrowRates(%s) = %s, which does not parse: %v", tc.expr, got, err)
		}
	}
	// Only the windows the caller names move.
	got, _, _ := NarrowRates(`rate(x[5m]) / rate(y[5m])`, at, func(i int, _ Window) (time.Time, bool) { return first, i == 1 })
	if want, _ := Parse(`rate(x[5m]) / rate(y[45s1ms])`); got != want.String() {
		t.Errorf("NarrowRates of the second window only = %s, want %s", got, want)
	}
}

// ReadsAfter is the window's start, Reach back (its range and offsets), and for an
// anchored or smoothed selector a lookback delta further: the sample before the window
// its start is read from. Without that lookback, an anchored rate after an outage was
// narrowed to the span after it and divided the increase since its anchor, before the
// outage, by that shorter span: several times the load.
func TestReadsAfter(t *testing.T) {
	at := t0.Add(time.Hour)
	const lookback = 2 * time.Minute
	for _, tc := range []struct {
		expr string
		want time.Duration // back from at
	}{
		{`rate(x[10m])`, 10 * time.Minute},
		{`rate(x[10m] offset 1m)`, 11 * time.Minute},
		{`rate(x[10m] anchored)`, 12 * time.Minute},
		{`rate(x[10m] smoothed)`, 12 * time.Minute},
		{`rate(x[10m] anchored offset 1m)`, 13 * time.Minute},
	} {
		e, err := Parse(tc.expr)
		if err != nil {
			t.Fatalf("%s: %v", tc.expr, err)
		}
		ws := Windows(e)
		if len(ws) != 1 {
			t.Fatalf("%s: %d windows, want 1", tc.expr, len(ws))
		}
		if got := ws[0].ReadsAfter(at, lookback); !got.Equal(at.Add(-tc.want)) {
			t.Errorf("%s: ReadsAfter = %s before at, want %s", tc.expr, at.Sub(got), tc.want)
		}
	}
}

// FirstSample reads a series' two values across the chunks its samples are stored in
// (120 a chunk: a boundary every half hour at 15 s scrapes), at their bounds to the
// millisecond: a value a millisecond after from, a closed chunk ending there, a chunk or
// the open one starting at to; and a series whose first value is older than another
// series' but whose second is in its next chunk, after that series' first. Left out,
// the span began at a later sample, and a pod's first value fell out of a narrowed
// window: with two values in it, its rate left the answer.
func TestFirstSampleAcrossChunks(t *testing.T) {
	h := newHistory(t, Options{Retention: 24 * time.Hour})
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	// Pod a: a value each second, half a second before the scrape (a timestamp of its own);
	// pod b: one each second at the scrape, in chunks of [0s, 119s], [120s, 239s],
	// [240s, 359s] and the open one from 360s.
	for s := range 400 {
		now := at(s * 1000)
		a := scrape("a", now, "x", float64(s))
		a.Samples[0].T = now.UnixMilli() - 500
		mustAppend(t, h, now, a, scrape("b", now, "x", float64(s)))
	}
	x := labels.MustNewMatcher(labels.MatchEqual, "__name__", "x")
	ofB := []*labels.Matcher{x, labels.MustNewMatcher(labels.MatchEqual, "pod", "b")}
	both := []*labels.Matcher{x}
	for _, tc := range []struct {
		name     string
		ms       []*labels.Matcher
		from, to time.Time
		want     time.Time
	}{
		{"a value a millisecond after from", ofB, at(30_000 - 1), at(60_000), at(30_000)},
		{"a closed chunk ending a millisecond after from", ofB, at(119_000 - 1), at(200_000), at(119_000)},
		{"a closed chunk starting at to", ofB, at(118_000), at(120_000), at(119_000)},
		{"the open chunk starting at to", ofB, at(358_000), at(360_000), at(359_000)},
		{"the second value in the next closed chunk, after another series' first", both, at(118_600), at(200_000), at(119_000)},
		{"the second value in the open chunk, after another series' first", both, at(358_600), at(380_000), at(359_000)},
	} {
		got, ok := h.FirstSample(tc.ms, tc.from, tc.to)
		if !ok || !got.Equal(tc.want) {
			t.Errorf("%s: FirstSample = %s, %v; want %s", tc.name, got.Sub(t0), ok, tc.want.Sub(t0))
		}
	}
}
