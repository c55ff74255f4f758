package history

import (
	"context"
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

// selected counts the samples of each series a Select of q returns.
func selected(t *testing.T, q storage.Querier, hints *storage.SelectHints, ms ...*labels.Matcher) map[string]int {
	t.Helper()
	set := q.Select(context.Background(), true, hints, ms...)
	got := map[string]int{}
	for set.Next() {
		n := 0
		for it := set.At().Iterator(nil); it.Next() == chunkenc.ValFloat; {
			n++
		}
		got[set.At().Labels().Get("__name__")] = n
	}
	if err := set.Err(); err != nil {
		t.Fatal(err)
	}
	return got
}

// TestOpenQuerierKeepsSeriesAcrossAHeadCut: an append that completes a series' head chunk
// (its 121st sample) while a querier of an earlier append is open leaves that querier
// the 120 samples it saw, as Prometheus' head does; it lost the whole series, so a query
// with an append between its Selects answered without it.
func TestOpenQuerierKeepsSeriesAcrossAHeadCut(t *testing.T) {
	const step = 15 * time.Second
	h := newHistory(t, Options{Retention: time.Hour})
	for i := range samplesPerChunk {
		at := t0.Add(time.Duration(i) * step)
		mustAppend(t, h, at, scrape("a", at, "x", float64(i)))
	}
	q := openQuerier(t, h, math.MinInt64, math.MaxInt64)
	at := t0.Add(samplesPerChunk * step)
	mustAppend(t, h, at, scrape("a", at, "x", 120.0))
	if got := selected(t, q, nil, isX); got["x"] != samplesPerChunk {
		t.Errorf("the open querier's Select after a head cut: %v, want x's %d samples", got, samplesPerChunk)
	}
	end := at.UnixMilli() - 1 // an instant selector's hints
	hints := &storage.SelectHints{Start: end - DefaultLookbackDelta.Milliseconds() + 1, End: end}
	if got := selected(t, q, hints, isX); got["x"] == 0 {
		t.Errorf("the open querier's instant Select after a head cut: %v, want x", got)
	}
	if vals, _, err := q.LabelValues(context.Background(), "pod", nil); err != nil || len(vals) != 1 {
		t.Errorf("the open querier's LabelValues(pod) after a head cut: %v %v, want [a]", vals, err)
	}
}

// TestTruncationWaitsForAnOpenQuerier: an append whose retention drops samples while a
// querier of an earlier append is open leaves that querier what it saw, series dropped
// whole included, as Prometheus' head waits for the readers of the range it truncates;
// the next append with no querier open truncates.
func TestTruncationWaitsForAnOpenQuerier(t *testing.T) {
	h := newHistory(t, Options{Retention: time.Minute})
	all := labels.MustNewMatcher(labels.MatchRegexp, "__name__", ".+")
	mustAppend(t, h, t0, scrape("a", t0, "x", 1.0, "gone", 1.0))
	t1 := t0.Add(30 * time.Second)
	mustAppend(t, h, t1, scrape("a", t1, "x", 2.0))
	q := openQuerier(t, h, math.MinInt64, math.MaxInt64)
	t2 := t0.Add(95 * time.Second)
	mustAppend(t, h, t2, scrape("a", t2, "x", 3.0))
	if got := selected(t, q, nil, all); got["x"] != 2 || got["gone"] != 2 {
		t.Errorf("the open querier after a truncating append: %v, want x's 2 samples and gone's sample and staleness marker", got)
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	t3 := t2.Add(time.Second)
	mustAppend(t, h, t3, scrape("a", t3, "x", 4.0))
	if h.Holds([]*labels.Matcher{labels.MustNewMatcher(labels.MatchEqual, "__name__", "gone")}) {
		t.Error("gone is still held after an append with no querier open")
	}
}

// TestStalenessFollowsTheLatestSample: whether a vanished series gets a staleness
// marker is decided by its latest sample, as Prometheus' scrape cache decides it per
// scrape: exposed first with a timestamp of its own, then without, then not at all, it
// goes stale.
func TestStalenessFollowsTheLatestSample(t *testing.T) {
	h := newHistory(t, Options{})
	x := labels.FromStrings("__name__", "x", "pod", "a")
	up := func(at time.Time) Sample {
		return Sample{Labels: labels.FromStrings("__name__", "up", "pod", "a"), T: at.UnixMilli(), V: 1}
	}
	t1, t2, t3 := t0, t0.Add(15*time.Second), t0.Add(30*time.Second)
	mustAppend(t, h, t1, Scrape{Target: "a", Time: t1, Samples: []Sample{up(t1), {Labels: x, T: t1.UnixMilli() - 500, V: 1, OwnTimestamp: true}}})
	mustAppend(t, h, t2, Scrape{Target: "a", Time: t2, Samples: []Sample{up(t2), {Labels: x, T: t2.UnixMilli(), V: 2}}})
	if st := mustAppend(t, h, t3, Scrape{Target: "a", Time: t3, Samples: []Sample{up(t3)}}); st.StaleMarkers != 1 {
		t.Errorf("%d staleness markers when x vanished after a sample without its own timestamp, want 1", st.StaleMarkers)
	}
	if got := query(t, h, "x", t3.Add(time.Minute)); len(got) != 0 {
		t.Errorf("x a minute after it vanished: %v, want nothing", got)
	}
}

// BenchmarkTruncate: the retention drops half of 20,000 series that share a label value
// (namespace), as a rollout does. Each postings list is walked once, not once per series
// dropped (19 s at 100,000 series before, with the store locked).
//
//	go test ./internal/history -run '^$' -bench Truncate -benchtime 5x
func BenchmarkTruncate(b *testing.B) {
	const n = 20_000
	for b.Loop() {
		b.StopTimer()
		s := newStore(DefaultLookbackDelta)
		s.mu.Lock()
		for i := range n {
			lset := labels.FromStrings("__name__", "m"+strconv.Itoa(i%50), "namespace", "prod", "pod", "p"+strconv.Itoa(i))
			ms := s.create(lset, lset.Hash())
			s.begin()
			s.append(ms, int64(1+999*(i%2)), 1)
		}
		b.StartTimer()
		s.truncate(500)
		s.mu.Unlock()
	}
}
