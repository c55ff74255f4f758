package history

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
)

// own returns a sample of name for target with a timestamp of its own.
func own(target, name string, ts time.Time, v float64) Sample {
	return Sample{Labels: labels.FromStrings("__name__", name, "pod", target), T: ts.UnixMilli(), V: v, OwnTimestamp: true}
}

// TestStaleMarkerInSameMillisecond: with a clock that does not move, a target whose second
// scrape fails in the same millisecond as its first must lose its series from the next
// millisecond on, and its up must read 0.
func TestStaleMarkerInSameMillisecond(t *testing.T) {
	h := newHistory(t, Options{})
	mustAppend(t, h, t0, scrape("a", t0, "x", 1.0, "up", 1.0))
	st := mustAppend(t, h, t0, scrape("a", t0, "up", 0.0))
	if st.StaleMarkers != 1 {
		t.Errorf("StaleMarkers = %d, want 1 (x)", st.StaleMarkers)
	}
	for _, at := range []time.Time{t0.Add(time.Millisecond), t0.Add(time.Second), t0.Add(4 * time.Minute)} {
		if got := query(t, h, "x", at); len(got) != 0 {
			t.Errorf("x at t0+%s = %v, want nothing: the series is stale", at.Sub(t0), got)
		}
		if got := query(t, h, "up", at); len(got) != 1 || got["a"] != 0 {
			t.Errorf("up at t0+%s = %v, want a=0", at.Sub(t0), got)
		}
	}
	// The target gone altogether in the same millisecond again: up is marked stale too.
	st = mustAppend(t, h, t0)
	if st.StaleMarkers != 1 {
		t.Errorf("StaleMarkers for the vanished target = %d, want 1 (up)", st.StaleMarkers)
	}
	if got := query(t, h, "up", t0.Add(time.Second)); len(got) != 0 {
		t.Errorf("up after the target vanished = %v, want nothing", got)
	}
}

// TestOwnTimestampsOfAnyAgeWithinRetention: a sample 2 minutes old is kept, as Prometheus
// keeps it; one older than the retention is dropped and counted.
func TestOwnTimestampsOfAnyAgeWithinRetention(t *testing.T) {
	h := newHistory(t, Options{Retention: 10 * time.Minute})
	sc := Scrape{Target: "a", Time: t0, Samples: []Sample{
		own("a", "recent", t0.Add(-2*time.Minute), 1),
		own("a", "ancient", t0.Add(-11*time.Minute), 2),
	}}
	st, err := h.Append(context.Background(), t0, []Scrape{sc})
	if st.Appended != 1 || st.Rejected != 1 || !errors.Is(err, ErrOutOfOrder) {
		t.Fatalf("stats %+v, error %v; want 1 appended, 1 rejected, ErrOutOfOrder", st, err)
	}
	if !slices.Equal(st.RefusedNames, []string{"ancient"}) {
		t.Errorf("RefusedNames = %q, want [ancient]", st.RefusedNames)
	}
	if got := query(t, h, "timestamp(recent)", t0); got["a"] != float64(t0.Add(-2*time.Minute).Unix()) {
		t.Errorf("timestamp(recent) = %v, want the sample's own time", got)
	}
}

// TestOwnTimestampsInOrderPerSeries: a repeated timestamp is a duplicate, not an error; an
// older one is dropped, counted and named; a newer one is stored.
func TestOwnTimestampsInOrderPerSeries(t *testing.T) {
	h := newHistory(t, Options{})
	mustAppend(t, h, t0, Scrape{Target: "a", Time: t0, Samples: []Sample{own("a", "x", t0, 1)}})
	t1 := t0.Add(15 * time.Second)
	st, err := h.Append(context.Background(), t1, []Scrape{{Target: "a", Time: t1, Samples: []Sample{own("a", "x", t0, 1)}}})
	if err != nil || st.Duplicates != 1 || st.Appended != 0 {
		t.Errorf("same timestamp again: stats %+v, error %v; want 1 duplicate and no error", st, err)
	}
	t2 := t1.Add(15 * time.Second)
	st, err = h.Append(context.Background(), t2, []Scrape{{Target: "a", Time: t2, Samples: []Sample{own("a", "x", t0.Add(-time.Second), 5)}}})
	if st.Rejected != 1 || !errors.Is(err, ErrOutOfOrder) || !strings.Contains(err.Error(), "target a") || !slices.Equal(st.RefusedNames, []string{"x"}) {
		t.Errorf("older timestamp: stats %+v, error %v; want 1 rejected, ErrOutOfOrder naming target a, RefusedNames [x]", st, err)
	}
	t3 := t2.Add(15 * time.Second)
	mustAppend(t, h, t3, Scrape{Target: "a", Time: t3, Samples: []Sample{own("a", "x", t3, 7)}})
	if got := query(t, h, "x", t3); got["a"] != 7 {
		t.Errorf("x at t3 = %v, want 7", got)
	}
}

// TestRefusedSamplesTakeNoSeriesSlot: a pod whose samples are all refused for their time
// (a year ahead: an exporter writing microseconds; or older than the retention) makes no
// series, so it cannot fill the series limit and keep another pod's series out.
func TestRefusedSamplesTakeNoSeriesSlot(t *testing.T) {
	h := newHistory(t, Options{SeriesLimit: 2})
	bad := Scrape{Target: "micros", Time: t0, Samples: []Sample{
		own("micros", "a", t0.Add(365*24*time.Hour), 1),
		own("micros", "b", t0.Add(365*24*time.Hour), 1),
		own("micros", "c", t0.Add(-DefaultRetention-time.Minute), 1),
	}}
	st, err := h.Append(context.Background(), t0, []Scrape{bad})
	if st.Future != 2 || st.Rejected != 1 || !errors.Is(err, ErrFutureSample) {
		t.Fatalf("stats %+v, error %v; want 2 future, 1 rejected", st, err)
	}
	if n := h.NumSeries(); n != 0 {
		t.Errorf("NumSeries = %d after refusing every sample, want 0", n)
	}
	st, err = h.Append(context.Background(), t0, []Scrape{scrape("healthy", t0, "x", 1.0, "y", 1.0)})
	if err != nil || st.Appended != 2 || st.Refused != 0 {
		t.Errorf("the healthy pod's two series: stats %+v, error %v; want both appended", st, err)
	}
}

// TestFutureTimestampsRefusedForTheirTargetOnly: a sample more than 10 minutes ahead of its
// scrape is refused, counted and named; a pod 5 minutes ahead is kept; neither keeps any
// other pod's later samples out.
func TestFutureTimestampsRefusedForTheirTargetOnly(t *testing.T) {
	h := newHistory(t, Options{})
	ahead := Scrape{Target: "skewed", Time: t0, Samples: []Sample{own("skewed", "x", t0.Add(5*time.Minute), 1)}}
	far := Scrape{Target: "micros", Time: t0, Samples: []Sample{own("micros", "y", t0.Add(365*24*time.Hour), 1)}}
	st, err := h.Append(context.Background(), t0, []Scrape{ahead, far, scrape("healthy", t0, "x", 1.0, "y", 1.0)})
	if st.Future != 1 || st.Appended != 3 || !errors.Is(err, ErrFutureSample) {
		t.Fatalf("stats %+v, error %v; want 1 future, 3 appended, ErrFutureSample", st, err)
	}
	if msg := err.Error(); !strings.Contains(msg, "target micros") || !strings.Contains(msg, `__name__="y"`) {
		t.Errorf("error %q does not name the target and series", msg)
	}
	if !slices.Equal(st.RefusedNames, []string{"y"}) {
		t.Errorf("RefusedNames = %q, want [y]", st.RefusedNames)
	}
	for i := 1; i <= 4; i++ {
		at := t0.Add(time.Duration(i) * 15 * time.Second)
		if _, err := h.Append(context.Background(), at, []Scrape{scrape("healthy", at, "x", float64(1+i), "y", float64(1+i))}); err != nil {
			t.Fatalf("append of the healthy pod at step %d: %v", i, err)
		}
		if got := query(t, h, `x{pod="healthy"}`, at); got["healthy"] != float64(1+i) {
			t.Errorf("healthy x at step %d = %v, want %d: a skewed pod must not freeze the others", i, got, 1+i)
		}
	}
	// The sample 5 minutes ahead is stored: visible once its time comes.
	if got := query(t, h, `x{pod="skewed"}`, t0.Add(5*time.Minute)); got["skewed"] != 1 {
		t.Errorf("skewed x at its own time = %v, want 1", got)
	}
}

// TestSecondSampleOfASeriesInAScrapeIsDropped: a target that exposes one series twice
// in a scrape (m{a="1"} and m{a="1",b=""}: an empty value is no label) gives two samples
// of one series at one time; Prometheus keeps the first and counts the second a
// duplicate. Written a millisecond later, the second would win from there on.
func TestSecondSampleOfASeriesInAScrapeIsDropped(t *testing.T) {
	h := newHistory(t, Options{})
	sc := scrape("a", t0, "m", 1.0, "m", 2.0)
	st := mustAppend(t, h, t0, sc)
	if st.Duplicates != 1 || st.Appended != 1 {
		t.Errorf("stats %+v, want 1 appended and 1 duplicate", st)
	}
	if got := query(t, h, "m", t0.Add(time.Second)); got["a"] != 1 {
		t.Errorf("m = %v, want the first sample's 1", got)
	}
	// The next scrape's sample, in the same millisecond, still wins (a clock that did
	// not move: TestStaleMarkerInSameMillisecond).
	mustAppend(t, h, t0, scrape("a", t0, "m", 3.0))
	if got := query(t, h, "m", t0.Add(time.Second)); got["a"] != 3 {
		t.Errorf("after the next scrape: m = %v, want 3", got)
	}
}

// TestTimeBoundsAsPrometheus: a sample exactly 10 minutes ahead of its scrape is kept,
// as Prometheus keeps it (its scrape loop refuses what is after now+10m, maxAheadTime),
// one a millisecond more is refused; a sample exactly the retention old is kept, one a
// millisecond older is rejected (Prometheus' head refuses what is before its minimum
// valid time). The 10 minutes are written out, not read from FutureTolerance: a
// tolerance changed to 11 or 15 minutes, which no other test's 5 and 20 minutes tell
// apart, fails here.
func TestTimeBoundsAsPrometheus(t *testing.T) {
	h := newHistory(t, Options{Retention: 10 * time.Minute})
	sc := Scrape{Target: "a", Time: t0, Samples: []Sample{
		own("a", "ahead", t0.Add(10*time.Minute), 1),
		own("a", "too_far", t0.Add(10*time.Minute+time.Millisecond), 2),
		own("a", "oldest", t0.Add(-10*time.Minute), 3),
		own("a", "too_old", t0.Add(-10*time.Minute-time.Millisecond), 4),
	}}
	st, err := h.Append(context.Background(), t0, []Scrape{sc})
	if st.Appended != 2 || st.Future != 1 || st.Rejected != 1 || !errors.Is(err, ErrFutureSample) || !errors.Is(err, ErrOutOfOrder) {
		t.Fatalf("stats %+v, error %v; want 2 appended, 1 future, 1 rejected", st, err)
	}
	if !slices.Equal(st.RefusedNames, []string{"too_far", "too_old"}) {
		t.Errorf("RefusedNames = %q, want [too_far too_old]", st.RefusedNames)
	}
}

// TestScrapeTimeASecondBehindIsOutOfOrder: a sample without a timestamp of its own whose
// scrape started less than a second before its series' newest sample (a clock stepped
// back by NTP) is written just after it, and so is the staleness marker of a series the
// scrape no longer exposes; a second or more before, the sample is out of order and no
// marker is written (the series' newest sample is later), as an append a second or more
// back starts the history over.
func TestScrapeTimeASecondBehindIsOutOfOrder(t *testing.T) {
	h := newHistory(t, Options{})
	mustAppend(t, h, t0, scrape("a", t0, "x", 1.0, "gone_a", 1.0), scrape("b", t0, "y", 1.0, "gone_b", 1.0))
	at := t0.Add(500 * time.Millisecond) // the append itself is not behind
	st, err := h.Append(context.Background(), at, []Scrape{
		scrape("a", t0.Add(-999*time.Millisecond), "x", 2.0),
		scrape("b", t0.Add(-time.Second), "y", 2.0),
	})
	if st.Appended != 1 || st.Rejected != 1 || st.StaleMarkers != 1 || !errors.Is(err, ErrOutOfOrder) || !slices.Equal(st.RefusedNames, []string{"y"}) {
		t.Fatalf("stats %+v, error %v; want x appended, y rejected as out of order, gone_a marked stale", st, err)
	}
	next := t0.Add(time.Millisecond)
	for expr, want := range map[string]map[string]float64{"x": {"a": 2}, "gone_a": {}, "y": {"b": 1}, "gone_b": {"b": 1}} {
		if got := query(t, h, expr, next); !maps.Equal(got, want) {
			t.Errorf("%s just after the newest = %v, want %v", expr, got, want)
		}
	}
}
