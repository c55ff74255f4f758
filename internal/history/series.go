package history

import (
	"math"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
)

// targetSeries is what one target exposed at its previous scrape: Prometheus' scrape
// cache, reduced to what staleness needs.
type targetSeries struct {
	gen    uint64            // the current scrape; an entry not seen in it is stale
	series map[uint64]*entry // by label hash: the first of a chain (entry.next) for the rare collision
	n      int               // entries in series
	seen   int               // entries seen in the current scrape (see see)
	peak   int               // the most entries held since series was made: Go maps never shrink
	// oversized counts the scrapes in a row that left series far larger than the
	// entries held (see settle).
	oversized int
}

// seriesShrinkAfter is how many scrapes in a row must leave a target's series map
// oversized before it is made anew (see settle).
const seriesShrinkAfter = 10

// entry is one series of a target.
type entry struct {
	lset  labels.Labels
	s     *memSeries    // the stored series; look it up again once dead
	ts    *targetSeries // the target it belongs to, for a caller's Sample.Ref
	gen   uint64        // the last scrape that exposed it
	ownTS bool          // its samples carry their own timestamps: never marked stale
	gone  bool          // forgotten by its target: a Sample.Ref holding it is stale
	next  *entry        // the target's next entry of the same label hash
}

func newTargetSeries() *targetSeries {
	return &targetSeries{series: map[uint64]*entry{}}
}

func (t *targetSeries) lookup(lset labels.Labels, hash uint64) *entry {
	for e := t.series[hash]; e != nil; e = e.next {
		if labels.Equal(e.lset, lset) {
			return e
		}
	}
	return nil
}

func (t *targetSeries) add(lset labels.Labels, hash uint64, ownTS bool, s *memSeries) *entry {
	e := &entry{lset: lset, s: s, ts: t, ownTS: ownTS, next: t.series[hash]}
	t.series[hash] = e
	t.n++
	t.peak = max(t.peak, t.n)
	return e
}

// settle ends a scrape that kept the target: a series map that once held more than
// shrinkFactor times the entries held now (a pod that exposed a spike of series once,
// until a rollout fixed it), for seriesShrinkAfter scrapes in a row, is made anew
// without the room of the spike. A map sized for what the target exposes is never made
// anew, and neither is one that a target exposing a spike every few scrapes keeps
// using. A steady target pays one comparison.
func (t *targetSeries) settle() {
	if !oversized(t.peak, t.n) {
		t.oversized = 0
		return
	}
	if t.oversized++; t.oversized < seriesShrinkAfter {
		return
	}
	m := make(map[uint64]*entry, len(t.series))
	for h, e := range t.series {
		m[h] = e
	}
	t.series, t.peak, t.oversized = m, t.n, 0
}

// next starts the target's next scrape: no entry is seen in it yet.
func (t *targetSeries) next() {
	t.gen++
	t.seen = 0
}

// see records that the current scrape exposed e.
func (t *targetSeries) see(e *entry) {
	if e.gen != t.gen {
		e.gen = t.gen
		t.seen++
	}
}

// markStale appends a staleness marker at ms to every series not exposed in the current
// scrape and forgets it; it returns how many it wrote. A marker that falls at or just
// before the series' newest sample (a scrape in the same millisecond) is written one
// millisecond after it, as Prometheus writes it at the next distinct timestamp. Series
// with their own timestamps are forgotten without a marker. When keep is false every
// series is forgotten. It also returns the time of the latest marker written,
// math.MinInt64 when none. With keep, it ends the target's scrape (settle). The caller
// holds db's mu for writing.
func (t *targetSeries) markStale(db *store, ms int64, keep bool) (n int, latest int64) {
	latest = math.MinInt64
	if keep && t.seen == t.n {
		t.settle()
		return 0, latest // the scrape exposed every series: none is stale
	}
	stale := math.Float64frombits(value.StaleNaN)
	for h, first := range t.series {
		var head, tail *entry // the chain of the entries kept, in order
		for e := first; e != nil; {
			next := e.next
			e.next = nil
			if e.gen == t.gen && keep {
				if tail == nil {
					head = e
				} else {
					tail.next = e
				}
				tail = e
			} else {
				e.gone = true
				t.n--
				if at, ok := staleAt(e, ms); ok {
					db.append(e.s, at, stale)
					n++
					latest = max(latest, at)
				}
			}
			e = next
		}
		if head == nil {
			delete(t.series, h)
		} else if head != first {
			t.series[h] = head
		}
	}
	if keep {
		t.settle()
	}
	return n, latest
}

// staleAt returns when e's staleness marker goes for a scrape at ms, and whether one goes
// at all: not for a series with timestamps of its own, one the retention dropped, or one
// with a later sample of its own (a marker changes nothing a query could see). At or just
// before the series' newest sample, it goes a millisecond after it.
func staleAt(e *entry, ms int64) (int64, bool) {
	if e.ownTS || e.s.dead {
		return 0, false
	}
	if last := e.s.newest(); ms <= last {
		if last-ms >= shiftTolerance {
			return 0, false
		}
		return last + 1, true
	}
	return ms, true
}
