package history

import (
	"context"
	"maps"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

// TestAppendLatest: AppendStats.Latest is where a query reads the whole Append: the
// scrape's time, a millisecond later for each append in the same millisecond (samples and
// markers alike), never a sample's own timestamp ahead of its scrape.
func TestAppendLatest(t *testing.T) {
	h := newHistory(t, Options{})
	ms := time.Millisecond
	steps := []struct {
		what    string
		at      time.Time
		scrapes []Scrape
		want    time.Time
	}{
		{"first scrape", t0, []Scrape{scrape("a", t0, "x", 1.0, "y", 1.0)}, t0},
		{"same millisecond", t0, []Scrape{scrape("a", t0, "x", 2.0, "y", 2.0)}, t0.Add(ms)},
		{"a marker alone moves it", t0, []Scrape{scrape("a", t0, "y", 3.0), scrape("b", t0, "z", 1.0)}, t0.Add(2 * ms)},
		{"a vanished target's markers", t0, []Scrape{{Target: "c", Time: t0}}, t0.Add(3 * ms)},
		{"own timestamps ahead do not", t0.Add(time.Second), []Scrape{{Target: "d", Time: t0.Add(time.Second), Samples: []Sample{own("d", "w", t0.Add(5*time.Minute), 1)}}}, time.Time{}},
		{"a moving clock", t0.Add(2 * time.Second), []Scrape{scrape("a", t0.Add(2*time.Second), "y", 4.0)}, t0.Add(2 * time.Second)},
	}
	for _, st := range steps {
		got, err := h.Append(context.Background(), st.at, st.scrapes)
		if err != nil {
			t.Fatalf("%s: %v", st.what, err)
		}
		if !got.Latest.Equal(st.want) {
			t.Errorf("%s: Latest = %s, want %s", st.what, got.Latest.Sub(t0), st.want.Sub(t0))
		}
	}
	// At Latest of the third append, x (vanished) is stale and y reads 3.
	if got := query(t, h, `x{pod="a"}`, t0.Add(2*ms)); len(got) != 0 {
		t.Errorf("x at t0+2ms = %v, want nothing: marked stale in the same millisecond", got)
	}
}

// TestAppendClockSteppedBack: a wall clock stepped back by less than a second (NTP) is
// a scrape in the newest millisecond: its samples and markers go just after the newest,
// the later scrape wins from AppendStats.Latest on, and nothing is refused. A step of a
// second or more starts the history over: history never goes backwards (see
// TestAppendClockSteppedBackStartsOver).
func TestAppendClockSteppedBack(t *testing.T) {
	h := newHistory(t, Options{})
	mustAppend(t, h, t0, scrape("a", t0, "x", 1.0, "y", 1.0), scrape("b", t0, "z", 1.0))
	back := t0.Add(-300 * time.Millisecond)
	st, err := h.Append(context.Background(), back, []Scrape{scrape("a", back, "y", 3.0), scrape("c", back, "w", 5.0)})
	if err != nil || st.Appended != 2 || st.StaleMarkers != 2 {
		t.Fatalf("append 300ms back: stats %+v, error %v; want 2 appended, 2 markers (x; b's z), no error", st, err)
	}
	if want := t0.Add(time.Millisecond); !st.Latest.Equal(want) {
		t.Errorf("Latest = %s, want %s (just after the newest)", st.Latest, want)
	}
	for expr, want := range map[string]map[string]float64{
		"x": {}, "z": {}, "y": {"a": 3}, "w": {"c": 5},
	} {
		if got := query(t, h, expr, st.Latest); !maps.Equal(got, want) {
			t.Errorf("%s at Latest = %v, want %v", expr, got, want)
		}
	}
	if _, newest := h.Span(); !newest.Equal(t0) {
		t.Errorf("Span's newest = %s, want %s: it never goes back", newest, t0)
	}
}

// TestAppendClockSteppedBackStartsOver: an append a second or more older than the newest
// (the wall clock stepped back further) starts the history over with it, instead of being
// refused (every query failing until the clock caught up) and then stored after the
// newest samples, which were timestamped by the clock found wrong (a window across the
// step then adds up the time stepped back over a shorter span). It says so, and holds
// only what it was given since; the scrapes after it are stored as usual.
func TestAppendClockSteppedBackStartsOver(t *testing.T) {
	h := newHistory(t, Options{})
	for i := range 4 {
		at := t0.Add(time.Duration(i) * 15 * time.Second)
		mustAppend(t, h, at, scrape("a", at, "x", float64(i), "y", 1.0), scrape("b", at, "z", 1.0))
	}
	newest := t0.Add(45 * time.Second)
	for n, d := range []time.Duration{time.Second, 2 * time.Minute} {
		at := newest.Add(-d)
		if !h.StartsOver(at) {
			t.Errorf("StartsOver(%s back) = false", d)
		}
		st, err := h.Append(context.Background(), at, []Scrape{scrape("a", at, "y", 4.0)})
		if err != nil || st.SteppedBack != d || st.Appended != 1 || st.StaleMarkers != 0 || !st.Latest.Equal(at) {
			t.Fatalf("append %s back: stats %+v, error %v; want SteppedBack %s, 1 appended, no marker, Latest the append's, no error", d, st, err, d)
		}
		if got := h.Restarts(); got != n+1 {
			t.Errorf("Restarts = %d after %d steps back", got, n+1)
		}
		if oldest, newest := h.Span(); !oldest.Equal(at) || !newest.Equal(at) {
			t.Errorf("Span after %s back = %s..%s, want the append's time alone", d, oldest.Sub(t0), newest.Sub(t0))
		}
		for expr, want := range map[string]map[string]float64{
			"y": {"a": 4}, "x": {}, "z": {}, "count_over_time(y[10m])": {"a": 1},
		} {
			if got := query(t, h, expr, at); !maps.Equal(got, want) {
				t.Errorf("%s, %s back = %v, want %v", expr, d, got, want)
			}
		}
		next := at.Add(15 * time.Second)
		mustAppend(t, h, next, scrape("a", next, "y", 5.0))
		if got := query(t, h, "count_over_time(y[10m])", next); !maps.Equal(got, map[string]float64{"a": 2}) {
			t.Errorf("count_over_time(y[10m]) after the append following the step = %v, want 2", got)
		}
		newest = next
	}
	if h.StartsOver(newest.Add(-999 * time.Millisecond)) {
		t.Error("StartsOver(999ms back) = true; want the append shifted, not a start over")
	}
}

// TestPairWithin: two samples of a matching series less than the range apart, in the
// span, staleness markers not counted; a target failing for longer than the range
// leaves the scrape after it alone, live; a series gone is not.
func TestPairWithin(t *testing.T) {
	h := newHistory(t, Options{})
	s := time.Second
	for _, at := range []time.Duration{0, 15 * s, 30 * s} {
		mustAppend(t, h, t0.Add(at), scrape("a", t0.Add(at), "x", 1.0, "up", 1.0))
	}
	for _, at := range []time.Duration{45 * s, 60 * s, 75 * s, 90 * s} { // a fails: x marked stale
		mustAppend(t, h, t0.Add(at), scrape("a", t0.Add(at), "up", 0.0))
	}
	mustAppend(t, h, t0.Add(105*s), scrape("a", t0.Add(105*s), "x", 2.0, "up", 1.0))
	x := []*labels.Matcher{labels.MustNewMatcher(labels.MatchEqual, "__name__", "x")}
	for _, tc := range []struct {
		from, to, rng time.Duration
		pair, live    bool
	}{
		{-s, 105 * s, time.Minute, true, true},      // 0 and 15 s
		{0, 105 * s, time.Minute, true, true},       // 15 s and 30 s: the window starts after from
		{15 * s, 105 * s, 15 * s, false, true},      // 30 s alone, then 105 s: 15 s apart is not less
		{30 * s, 105 * s, time.Minute, false, true}, // 105 s alone: the markers are no samples
		{29 * s, 105 * s, 80 * s, true, true},       // 30 s and 105 s, across the markers
		{29 * s, 90 * s, time.Minute, false, false}, // 30 s, then the marker: gone
		{-s, 105 * s, 0, false, true},
		{15 * s, 30 * s, time.Minute, false, true},                  // 30 s alone: the sample at from is out, as a window's start
		{30*s - time.Millisecond, 30 * s, time.Minute, false, true}, // a window of one millisecond, holding 30 s
	} {
		pair, live := h.PairWithin(x, t0.Add(tc.from), t0.Add(tc.to), tc.rng)
		if pair != tc.pair || live != tc.live {
			t.Errorf("PairWithin(x, t0%+v, t0+%v, %v) = %v, %v; want %v, %v", tc.from, tc.to, tc.rng, pair, live, tc.pair, tc.live)
		}
	}
	// PairWhere counts only the successive values fits accepts (a subquery's windows).
	ms := func(d time.Duration) int64 { return t0.Add(d).UnixMilli() }
	for _, tc := range []struct {
		rng        time.Duration
		fits       func(a, b int64) bool
		pair, live bool
	}{
		{time.Minute, func(a, b int64) bool { return a == ms(15*s) && b == ms(30*s) }, true, true},
		{time.Minute, func(a, b int64) bool { return a == ms(0) && b == ms(30*s) }, false, true}, // not successive
		{time.Minute, func(a, b int64) bool { return false }, false, true},
		{80 * s, func(a, b int64) bool { return a == ms(30*s) && b == ms(105*s) }, true, true},
	} {
		if pair, live := h.PairWhere(x, t0.Add(-s), t0.Add(105*s), tc.rng, tc.fits); pair != tc.pair || live != tc.live {
			t.Errorf("PairWhere(x, t0-1s, t0+105s, %v, fits) = %v, %v; want %v, %v", tc.rng, pair, live, tc.pair, tc.live)
		}
	}
	y := []*labels.Matcher{labels.MustNewMatcher(labels.MatchEqual, "__name__", "y")}
	if pair, live := h.PairWithin(y, t0, t0.Add(time.Hour), time.Hour); pair || live {
		t.Errorf("PairWithin of a metric never stored: %v, %v", pair, live)
	}
}

// TestPairWithinAsASelectReadsIt: PairWithin reads the series in place and stops at the
// first pair; over random histories (targets failing and coming back, so staleness
// markers and gaps, enough scrapes to complete chunks) it answers as the same walk over a
// Select of every matching series does, for random spans and ranges.
func TestPairWithinAsASelectReadsIt(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	h := newHistory(t, Options{Retention: time.Hour})
	targets := []string{"a", "b", "c"}
	at := t0
	for range 400 {
		at = at.Add(time.Duration(1+rnd.IntN(30)) * time.Second)
		var scrapes []Scrape
		for _, tg := range targets {
			if rnd.IntN(5) == 0 {
				scrapes = append(scrapes, scrape(tg, at)) // failed: its series are marked stale
				continue
			}
			scrapes = append(scrapes, scrape(tg, at, "x", rnd.Float64(), "y", float64(rnd.IntN(3))))
		}
		mustAppend(t, h, at, scrapes...)
	}
	span := at.Sub(t0)
	var outcomes [3]int // a pair; live without one; neither
	for i := range 2000 {
		name := []string{"x", "y", "z"}[rnd.IntN(3)]
		ms := []*labels.Matcher{labels.MustNewMatcher(labels.MatchEqual, "__name__", name)}
		if rnd.IntN(2) == 0 {
			ms = append(ms, labels.MustNewMatcher(labels.MatchRegexp, "pod", []string{"a", "b|c", "c|z", "q"}[rnd.IntN(4)]))
		}
		from := t0.Add(time.Duration(rnd.Int64N(int64(span))) - time.Minute)
		to := from.Add(time.Duration(rnd.Int64N(int64(10 * time.Minute))))
		rng := time.Duration(rnd.IntN(90)) * time.Second
		pair, live := h.PairWithin(ms, from, to, rng)
		wantPair, wantLive := pairWithinBySelect(h, ms, from, to, rng)
		if pair != wantPair || live != wantLive {
			t.Fatalf("case %d: PairWithin(%v, t0+%s, t0+%s, %s) = %v, %v; a Select's walk: %v, %v", i, ms, from.Sub(t0), to.Sub(t0), rng, pair, live, wantPair, wantLive)
		}
		switch {
		case pair:
			outcomes[0]++
		case live:
			outcomes[1]++
		default:
			outcomes[2]++
		}
	}
	if outcomes[0] < 30 || outcomes[1] < 30 || outcomes[2] < 30 {
		t.Errorf("outcomes (pair, live alone, neither) %v: each should come up at least 30 times in 2,000 cases", outcomes)
	}
	if n := len(h.db.postings.all); n == 0 || len(h.db.postings.all[0].chunks) == 0 {
		t.Errorf("no series has a completed chunk: the walk over complete chunks goes untested")
	}
}

// pairWithinBySelect is PairWithin's walk over a Select of every matching series.
func pairWithinBySelect(h *History, ms []*labels.Matcher, from, to time.Time, rng time.Duration) (pair, live bool) {
	mint, maxt := from.UnixMilli()+1, to.UnixMilli()
	if maxt < mint {
		return false, false
	}
	q := h.db.querier(mint, maxt, h.opts.LookbackDelta.Milliseconds())
	defer q.Close()
	set := q.Select(context.Background(), false, &storage.SelectHints{Start: mint, End: maxt, Range: rng.Milliseconds()}, ms...)
	var it chunkenc.Iterator
	for set.Next() {
		it = set.At().Iterator(it)
		prev, last := int64(math.MinInt64), 0.0
		for it.Next() == chunkenc.ValFloat {
			t, v := it.At()
			if t < mint || t > maxt {
				continue
			}
			last = v
			if value.IsStaleNaN(v) {
				continue
			}
			if prev != math.MinInt64 && t-prev < rng.Milliseconds() {
				return true, true
			}
			prev = t
		}
		live = live || prev != math.MinInt64 && !value.IsStaleNaN(last)
	}
	return false, live
}

// TestStartOverWhileQueried: appends starting the history over while queries run (and a
// querier made before stays open) race with nothing: the start over waits for the
// queries in flight, and the open querier keeps the samples it saw. Run with -race.
func TestStartOverWhileQueried(t *testing.T) {
	h := newHistory(t, Options{})
	mustAppend(t, h, t0, scrape("a", t0, "x", 1.0))
	q := openQuerier(t, h, math.MinInt64, math.MaxInt64)
	done := make(chan struct{})
	queried := make(chan error, 1)
	ran := make(chan struct{}, 1)
	go func() {
		defer close(queried)
		for {
			select {
			case <-done:
				return
			default:
			}
			if _, err := h.Query(context.Background(), "x", t0); err != nil {
				queried <- err
				return
			}
			h.PairWithin([]*labels.Matcher{isX}, t0.Add(-time.Hour), t0, time.Minute)
			select {
			case ran <- struct{}{}:
			default:
			}
		}
	}()
	for i := range 50 {
		select { // a query between the appends, each start over racing the next
		case <-ran:
		case err := <-queried:
			t.Fatalf("a query while the history started over: %v", err)
		}
		at := t0.Add(-time.Duration(i+1) * time.Minute) // each a minute before the last: a start over
		st, err := h.Append(context.Background(), at, []Scrape{scrape("a", at, "x", float64(i))})
		if err != nil || st.SteppedBack != time.Minute {
			t.Fatalf("append %d: %+v, %v; want a start over", i, st, err)
		}
	}
	close(done)
	if err := <-queried; err != nil {
		t.Errorf("a query while the history started over: %v", err)
	}
	if got := selected(t, q, nil, isX); got["x"] != 1 {
		t.Errorf("the querier opened before the start overs: %v, want x's one sample", got)
	}
}
