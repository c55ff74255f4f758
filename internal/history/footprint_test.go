package history

import (
	"testing"
	"time"
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
