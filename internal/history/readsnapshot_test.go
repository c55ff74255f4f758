package history

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

// sampleTimes returns the sample times of each series sel returns, by its pod label.
func sampleTimes(t *testing.T, q storage.Querier, hints *storage.SelectHints, ms ...*labels.Matcher) map[string][]int64 {
	t.Helper()
	set := q.Select(context.Background(), false, hints, ms...)
	got := map[string][]int64{}
	for set.Next() {
		s := set.At()
		it := s.Iterator(nil)
		for it.Next() == chunkenc.ValFloat {
			ts, _ := it.At()
			got[s.Labels().Get("pod")] = append(got[s.Labels().Get("pod")], ts)
		}
	}
	if err := set.Err(); err != nil {
		t.Fatal(err)
	}
	return got
}

func openQuerier(t *testing.T, h *History, mint, maxt int64) storage.Querier {
	t.Helper()
	q, err := h.Queryable().Querier(mint, maxt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { q.Close() })
	return q
}

var isX = labels.MustNewMatcher(labels.MatchEqual, "__name__", "x")

// ownRun returns n samples of x of target a with their own timestamps, step apart from start.
func ownRun(start time.Time, step time.Duration, n int) []Sample {
	out := make([]Sample, n)
	for i := range out {
		out[i] = own("a", "x", start.Add(time.Duration(i)*step), float64(i))
	}
	return out
}

// TestSelectHintsNarrowTheRange: a Select's hints narrow the querier's range, an instant
// (Start == End) included.
func TestSelectHintsNarrowTheRange(t *testing.T) {
	h := newHistory(t, Options{})
	t1, t2 := t0.Add(time.Minute), t0.Add(2*time.Minute)
	mustAppend(t, h, t0, Scrape{Target: "a", Time: t0, Samples: []Sample{own("a", "x", t0, 1)}})
	mustAppend(t, h, t2, Scrape{Target: "b", Time: t2, Samples: []Sample{own("b", "x", t2, 1)}})
	q := openQuerier(t, h, t0.UnixMilli(), t2.UnixMilli())
	for _, at := range []time.Time{t0, t2} {
		ms := at.UnixMilli()
		got := sampleTimes(t, q, &storage.SelectHints{Start: ms, End: ms}, isX)
		if len(got) != 1 {
			t.Errorf("Select with hints at %s = %v, want one series", at, got)
		}
	}
	if got := sampleTimes(t, q, &storage.SelectHints{Start: t1.UnixMilli(), End: t2.UnixMilli()}, isX); len(got) != 1 || got["b"] == nil {
		t.Errorf("Select with hints [t1, t2] = %v, want b only", got)
	}
}

// TestLabelValuesOfSeriesEndingAtTheRangeStart: a series whose newest sample is at the
// querier's start has samples in its range.
func TestLabelValuesOfSeriesEndingAtTheRangeStart(t *testing.T) {
	h := newHistory(t, Options{})
	t1 := t0.Add(15 * time.Second)
	mustAppend(t, h, t0, scrape("a", t0, "x", 1.0))
	mustAppend(t, h, t1, Scrape{Target: "a", Time: t1, Samples: []Sample{own("a", "x", t1, 2)}})
	q := openQuerier(t, h, t1.UnixMilli(), t1.Add(time.Minute).UnixMilli())
	vals, _, err := q.LabelValues(context.Background(), "pod", nil)
	if err != nil || len(vals) != 1 || vals[0] != "a" {
		t.Errorf("LabelValues(pod) = %q, %v; want [a]", vals, err)
	}
}

// TestSelectedSeriesIgnoreLaterAppends: series a Select returned keep the samples committed
// when the querier was made, whether the appends come before the Select or after it (the
// chunk being appended to is copied, older full chunks are cut).
func TestSelectedSeriesIgnoreLaterAppends(t *testing.T) {
	h := newHistory(t, Options{})
	t1 := t0.Add(time.Second)
	mustAppend(t, h, t0, Scrape{Target: "a", Time: t0, Samples: []Sample{own("a", "x", t0, 1)}})
	q := openQuerier(t, h, t0.UnixMilli(), t0.Add(time.Hour).UnixMilli())
	set := q.Select(context.Background(), false, nil, isX)
	// 130 more samples fill the first chunk and start a second one.
	mustAppend(t, h, t1.Add(130*time.Second), Scrape{Target: "a", Time: t1.Add(130 * time.Second), Samples: ownRun(t1, time.Second, 130)})
	n := 0
	for set.Next() {
		for it := set.At().Iterator(nil); it.Next() == chunkenc.ValFloat; {
			n++
		}
	}
	if n != 1 {
		t.Errorf("a Select made before the append reads %d samples after it, want 1", n)
	}
	if got := sampleTimes(t, q, nil, isX); len(got["a"]) != 1 {
		t.Errorf("a Select made after the append reads %d samples, want 1", len(got["a"]))
	}
}

// TestQueriersOfEveryEpochKeepTheirView: queriers made at successive appends each keep
// their own view while later appends come, and closing one of two queriers of an epoch
// leaves the other's.
func TestQueriersOfEveryEpochKeepTheirView(t *testing.T) {
	h := newHistory(t, Options{})
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * 15 * time.Second) }
	mustAppend(t, h, at(0), scrape("a", at(0), "x", 0.0))
	q1 := openQuerier(t, h, at(0).UnixMilli(), at(9).UnixMilli())
	q1b, _ := h.Queryable().Querier(at(0).UnixMilli(), at(9).UnixMilli())
	q1b.Close() // q1 is still open: appends keep what it reads
	mustAppend(t, h, at(1), scrape("a", at(1), "x", 1.0))
	q2 := openQuerier(t, h, at(0).UnixMilli(), at(9).UnixMilli())
	for i := 2; i <= 4; i++ {
		mustAppend(t, h, at(i), scrape("a", at(i), "x", float64(i)))
	}
	for name, tc := range map[string]struct {
		q    storage.Querier
		want int
	}{"q1": {q1, 1}, "q2": {q2, 2}} {
		if got := sampleTimes(t, tc.q, nil, isX); len(got["a"]) != tc.want {
			t.Errorf("%s reads %v, want %d samples", name, got, tc.want)
		}
	}
}

// TestRetentionKeepsTheSampleAtItsBound: truncation keeps a sample exactly at the
// retention's bound, drops whole chunks before it, and keeps the series of other label
// values findable by label.
func TestRetentionKeepsTheSampleAtItsBound(t *testing.T) {
	h := newHistory(t, Options{Retention: 4 * time.Minute})
	t1, t5 := t0.Add(time.Minute), t0.Add(5*time.Minute)
	// 300 samples of x of a in 30 s: three chunks; y of b at t0; y of c at t1.
	run := append(ownRun(t0, 100*time.Millisecond, 300), own("b", "y", t0, 1))
	mustAppend(t, h, t0.Add(30*time.Second), Scrape{Target: "a", Time: t0.Add(30 * time.Second), Samples: run})
	mustAppend(t, h, t1, Scrape{Target: "a", Time: t1, Samples: []Sample{own("c", "y", t1, 1)}})
	// At t5 the bound is t1: b's y and all x but the newest are older.
	mustAppend(t, h, t5, Scrape{Target: "a", Time: t5, Samples: []Sample{own("a", "x", t5, 1)}})
	q := openQuerier(t, h, t0.UnixMilli(), t5.UnixMilli())
	if got := sampleTimes(t, q, nil, isX); len(got["a"]) != 1 || got["a"][0] != t5.UnixMilli() {
		t.Errorf("x after truncation has samples at %v, want only %d", got["a"], t5.UnixMilli())
	}
	got := sampleTimes(t, q, nil, labels.MustNewMatcher(labels.MatchEqual, "pod", "c"))
	if len(got["c"]) != 1 || got["c"][0] != t1.UnixMilli() {
		t.Errorf("series of pod c = %v, want its sample at the bound %d", got, t1.UnixMilli())
	}
	if n := h.NumSeries(); n != 2 {
		t.Errorf("NumSeries = %d, want 2 (x of a, y of c)", n)
	}
}

// TestStaleMarkerAfterSameMillisecondSample: a series that vanishes in a scrape of the
// millisecond of its newest sample gets its marker one millisecond after it, never at it.
func TestStaleMarkerAfterSameMillisecondSample(t *testing.T) {
	h := newHistory(t, Options{})
	mustAppend(t, h, t0, scrape("a", t0, "x", 1.0))
	mustAppend(t, h, t0, scrape("a", t0, "y", 1.0))
	q := openQuerier(t, h, t0.UnixMilli(), t0.Add(time.Second).UnixMilli())
	set := q.Select(context.Background(), false, nil, isX)
	var ts []int64
	var stale []bool
	for set.Next() {
		for it := set.At().Iterator(nil); it.Next() == chunkenc.ValFloat; {
			tt, v := it.At()
			ts, stale = append(ts, tt), append(stale, value.IsStaleNaN(v))
		}
	}
	if len(ts) != 2 || ts[0] != t0.UnixMilli() || stale[0] || ts[1] != t0.UnixMilli()+1 || !stale[1] {
		t.Errorf("x samples at %v (stale %v), want a value at %d then a marker at %d", ts, stale, t0.UnixMilli(), t0.UnixMilli()+1)
	}
}

// TestQuerierOpenPastMaxHistStillReadsTheSeries: a querier left open across more appends
// of a series than a series keeps epochs for (a caller that never closes it) reads the
// series up to the oldest epoch kept: the samples of the appends past those, more than
// its view, never none of the series.
func TestQuerierOpenPastMaxHistStillReadsTheSeries(t *testing.T) {
	h := newHistory(t, Options{Retention: time.Hour})
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * 15 * time.Second) }
	mustAppend(t, h, at(0), scrape("a", at(0), "x", 0.0))
	q := openQuerier(t, h, at(0).UnixMilli(), at(200).UnixMilli())
	for i := 1; i <= maxHist+10; i++ {
		mustAppend(t, h, at(i), scrape("a", at(i), "x", float64(i)))
	}
	got := sampleTimes(t, q, nil, isX)["a"]
	if len(got) != 11 || got[0] != at(0).UnixMilli() || got[10] != at(10).UnixMilli() {
		t.Errorf("the querier open across %d appends reads x at %v; want t0 to t0+150s: its own sample and the 10 appends past the %d epochs kept", maxHist+10, got, maxHist)
	}
}

// TestRetentionKeepsTheSampleAtItsBoundEndingAChunk: a complete chunk whose last sample is
// exactly at the retention's bound is kept for that sample, not dropped whole.
func TestRetentionKeepsTheSampleAtItsBoundEndingAChunk(t *testing.T) {
	h := newHistory(t, Options{Retention: 4 * time.Minute})
	// 121 samples of x a second apart: a complete chunk of 120, ending at t0+119s, and one
	// in the head.
	first := t0.Add(120 * time.Second)
	mustAppend(t, h, first, Scrape{Target: "a", Time: first, Samples: ownRun(t0, time.Second, samplesPerChunk+1)})
	bound := t0.Add(119 * time.Second)
	last := bound.Add(4 * time.Minute)
	mustAppend(t, h, last, Scrape{Target: "a", Time: last, Samples: []Sample{own("a", "x", last, 1)}})
	q := openQuerier(t, h, t0.UnixMilli(), last.UnixMilli())
	if got := sampleTimes(t, q, nil, isX)["a"]; len(got) != 3 || got[0] != bound.UnixMilli() {
		t.Errorf("x after truncation has samples at %v, want 3 from the bound %d", got, bound.UnixMilli())
	}
}
