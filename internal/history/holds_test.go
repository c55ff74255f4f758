package history

import (
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
	for _, list := range h.db.byHash {
		for _, ms := range list {
			for i, c := range ms.chunks {
				if n := c.chunk.NumSamples(); n != c.samples || n > samplesPerChunk {
					t.Errorf("%s chunk %d: %d samples, counted %d; want at most %d", ms.lset, i, n, c.samples, samplesPerChunk)
				}
			}
		}
	}
}
