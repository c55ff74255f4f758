package history

import (
	"context"
	"math"
	"runtime"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
)

// TestRetentionForgetsLabelValuesOfDroppedSeries: once the retention drops every series
// with a label value (pods come and go), the index no longer holds that value: it would
// grow with every pod name otherwise.
func TestRetentionForgetsLabelValuesOfDroppedSeries(t *testing.T) {
	h := newHistory(t, Options{Retention: 4 * time.Minute})
	t1, t5 := t0.Add(time.Minute), t0.Add(5*time.Minute)
	mustAppend(t, h, t0, Scrape{Target: "a", Time: t0, Samples: []Sample{own("gone", "x", t0, 1)}})
	mustAppend(t, h, t1, Scrape{Target: "a", Time: t1, Samples: []Sample{own("kept", "x", t1, 1)}})
	mustAppend(t, h, t5, Scrape{Target: "a", Time: t5, Samples: []Sample{own("kept", "x", t5, 2)}})
	if n := h.NumSeries(); n != 1 {
		t.Fatalf("NumSeries = %d, want 1", n)
	}
	h.db.mu.RLock()
	defer h.db.mu.RUnlock()
	if _, ok := h.db.postings.values["pod"]["gone"]; ok {
		t.Error(`the index still holds pod="gone" after its only series was dropped`)
	}
}

// TestChunksHoldSamplesPerChunk: a series' samples are packed samplesPerChunk to a chunk,
// not one chunk each (an XOR chunk's header and slice cost more than its samples).
func TestChunksHoldSamplesPerChunk(t *testing.T) {
	h := newHistory(t, Options{})
	at := t0.Add(time.Minute)
	mustAppend(t, h, at, Scrape{Target: "a", Time: at, Samples: ownRun(t0, 100*time.Millisecond, 2*samplesPerChunk)})
	h.db.mu.RLock()
	defer h.db.mu.RUnlock()
	for _, ms := range h.db.postings.all {
		if n := len(ms.chunks); n != 1 || ms.head.n != samplesPerChunk {
			t.Errorf("%s: %d samples in %d complete chunks and a head of %d, want 1 and %d", ms.lset, 2*samplesPerChunk, n, ms.head.n, samplesPerChunk)
		}
	}
}

// TestSelectOfFewSeriesTakesLittle: a Select of two series allocates about what it
// copies (their head chunks, their chunk lists), not a slab sized for hundreds of series:
// the EPP's queries read one or two series, up to ten times a second.
func TestSelectOfFewSeriesTakesLittle(t *testing.T) {
	h := newHistory(t, Options{})
	var samples []Sample
	for i := range 60 {
		ts := t0.Add(time.Duration(i) * time.Second)
		samples = append(samples, own("a", "x", ts, float64(i)), own("b", "x", ts, float64(2*i)))
	}
	last := t0.Add(59 * time.Second)
	mustAppend(t, h, last, Scrape{Target: "a", Time: last, Samples: samples})
	q, err := h.Queryable().Querier(math.MinInt64, math.MaxInt64)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	x := labels.MustNewMatcher(labels.MatchEqual, "__name__", "x")
	for _, hints := range []*storage.SelectHints{
		{Start: t0.UnixMilli(), End: last.UnixMilli(), Range: time.Minute.Milliseconds(), Func: "rate"},
		{Start: last.UnixMilli() - DefaultLookbackDelta.Milliseconds() + 1, End: last.UnixMilli()},
	} {
		const selects = 100
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for range selects {
			set := q.Select(context.Background(), false, hints, x)
			for set.Next() {
			}
		}
		runtime.ReadMemStats(&after)
		if per := (after.TotalAlloc - before.TotalAlloc) / selects; per > 4<<10 {
			t.Errorf("hints %+v: a Select of 2 series allocated %d bytes, want at most 4 KiB", hints, per)
		}
	}
}

// TestEmptyHistoriesShareAnEngine: a history holding nothing costs little, whatever the
// engine needs: a controller holds one source, so one history, per model variant (up to
// hundreds), with the same options. Each built its own promql engine (its unexported
// query-timing summaries alone about 290 KB): 100 variants held 29 MB before a sample.
// Histories with the same engine options now share one engine, which is safe for
// concurrent queries; another lookback delta gets its own.
func TestEmptyHistoriesShareAnEngine(t *testing.T) {
	const n = 100
	hs := make([]*History, 0, n)
	before := liveHeap()
	for range n {
		h, err := New(Options{LookbackDelta: 4*time.Minute + 59*time.Second})
		if err != nil {
			t.Fatal(err)
		}
		hs = append(hs, h)
	}
	after := liveHeap()
	if per := (int64(after) - int64(before)) / n; per > 32<<10 {
		t.Errorf("an empty history holds %d bytes, want at most 32 KiB", per)
	}
	other, err := New(Options{LookbackDelta: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if other.engine == hs[0].engine || hs[1].engine != hs[0].engine {
		t.Error("histories share an engine only with the same options")
	}
	// Each answers from its own store through the shared engine.
	at := t0.Add(time.Minute)
	mustAppend(t, hs[0], at, Scrape{Target: "a", Time: at, Samples: []Sample{own("a", "x", at, 1)}})
	mustAppend(t, hs[1], at, Scrape{Target: "a", Time: at, Samples: []Sample{own("a", "x", at, 2)}})
	for i, want := range []float64{1, 2} {
		res, err := hs[i].Query(context.Background(), "sum(x)", at)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Points) != 1 || res.Points[0].V != want {
			t.Errorf("history %d answered %v, want %v", i, res.Points, want)
		}
	}
	for _, h := range append(hs, other) {
		if err := h.Close(); err != nil {
			t.Fatal(err)
		}
	}
	runtime.KeepAlive(hs)
}
