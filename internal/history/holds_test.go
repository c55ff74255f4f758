package history

import (
	"math"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
)

// Holds finds a held series by its matchers, stale or not, until the retention drops it;
// a series whose only sample was refused is not held.
func TestHolds(t *testing.T) {
	h := newHistory(t, Options{Retention: time.Minute})
	eq := func(name, value string) *labels.Matcher { return labels.MustNewMatcher(labels.MatchEqual, name, value) }
	queue := []*labels.Matcher{eq("__name__", "queue")}
	if h.Holds(queue) {
		t.Error("an empty history holds queue")
	}
	mustAppend(t, h, t0, scrape("a", t0, "queue", 1.0))
	if !h.Holds(queue) || !h.Holds([]*labels.Matcher{eq("__name__", "queue"), eq("pod", "a")}) {
		t.Error("queue of a not held after its append")
	}
	if h.Holds([]*labels.Matcher{eq("__name__", "queue"), eq("pod", "b")}) || h.Holds([]*labels.Matcher{eq("__name__", "other")}) {
		t.Error("a series never appended is held")
	}
	ofPod := func(pod string) func(labels.Labels) bool {
		return func(l labels.Labels) bool { return l.Get("pod") == pod }
	}
	if !h.HoldsWhere(queue, ofPod("a")) || h.HoldsWhere(queue, ofPod("b")) {
		t.Error("HoldsWhere does not tell queue of pod a from a pod that never had it")
	}
	t1 := t0.Add(time.Second)
	mustAppend(t, h, t1, scrape("a", t1, "up", 1.0)) // queue is stale now: still held
	if !h.Holds(queue) {
		t.Error("a stale series within the retention is not held")
	}

	ahead := scrape("a", t1, "ahead", 1.0)
	ahead.Samples[0].T, ahead.Samples[0].OwnTimestamp = t1.Add(time.Hour).UnixMilli(), true
	if _, err := h.Append(t.Context(), t1, []Scrape{ahead}); err == nil {
		t.Fatal("a sample an hour ahead was stored")
	}
	if h.Holds([]*labels.Matcher{eq("__name__", "ahead")}) {
		t.Error("a series whose only sample was refused is held")
	}

	late := t0.Add(3 * time.Minute)
	mustAppend(t, h, late, scrape("a", late, "up", 1.0))
	if h.Holds(queue) {
		t.Error("a series the retention dropped is held")
	}
}

// Chunks are cut at samplesPerChunk samples, also after the retention re-encoded a
// chunk's newer part: each chunk's count is its own.
func TestChunksCutAtSamplesPerChunk(t *testing.T) {
	h := newHistory(t, Options{Retention: time.Minute})
	for i := range 400 {
		at := t0.Add(time.Duration(i) * time.Second)
		mustAppend(t, h, at, scrape("a", at, "queue", float64(i)))
	}
	h.db.mu.RLock()
	defer h.db.mu.RUnlock()
	for _, ms := range h.db.postings.all {
		for i, c := range ms.chunks {
			if n, read := c.chunk.NumSamples(), countTo(c.chunk, math.MaxInt64); n != read || n > samplesPerChunk {
				t.Errorf("%s chunk %d: %d samples in its header, %d read; want at most %d", ms.lset, i, n, read, samplesPerChunk)
			}
		}
		if ms.head.n > samplesPerChunk {
			t.Errorf("%s: %d samples in the head chunk, want at most %d", ms.lset, ms.head.n, samplesPerChunk)
		}
	}
}

// Series and a target's entries whose label hashes collide share a chain: each is found
// by its labels, and dropping one (by the retention, or as unexposed) keeps the others.
func TestHashCollisionChains(t *testing.T) {
	db := newStore(DefaultLookbackDelta)
	a, b, c := labels.FromStrings("__name__", "a"), labels.FromStrings("__name__", "b"), labels.FromStrings("__name__", "c")
	const h = 42 // one hash for all three
	db.mu.Lock()
	defer db.mu.Unlock()
	db.begin()
	sa, sb, sc := db.create(a, h), db.create(b, h), db.create(c, h)
	db.append(sa, 5000, 1)
	db.append(sb, 6000, 1)
	db.append(sc, 1000, 1) // c, the chain's first (the latest created), goes first
	for _, want := range []*memSeries{sa, sb, sc} {
		if got := db.get(want.lset, h); got != want {
			t.Errorf("get(%s) = %v, want its own series", want.lset, got)
		}
	}
	db.truncate(2000) // c has nothing left
	if db.get(a, h) != sa || db.get(b, h) != sb || db.get(c, h) != nil || sa.dead || sb.dead || !sc.dead {
		t.Errorf("after the retention dropped c: a %v, b %v, c %v", db.get(a, h), db.get(b, h), db.get(c, h))
	}

	ts := &targetSeries{}
	ts.next(1)
	sc2 := db.create(c, h)
	for _, ms := range []*memSeries{sa, sb, sc2} {
		ts.take(ms)
		ts.see(ms)
	}
	ts.next(2)
	ts.see(sa)
	ts.see(sb)
	if n, _ := ts.markStale(db, 7000, true); n != 1 {
		t.Errorf("markStale wrote %d markers, want 1 (c, the chain's first, unexposed)", n)
	}
	if db.get(a, h) != sa || db.get(b, h) != sb || db.get(c, h) != sc2 || sa.owner != ts || sb.owner != ts || sc2.owner != nil || len(ts.series) != 2 {
		t.Errorf("after c went stale: a %v, b %v, c %v, %d series listed", sa.owner, sb.owner, sc2.owner, len(ts.series))
	}
}
