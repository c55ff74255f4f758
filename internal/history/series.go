package history

import (
	"math"

	"github.com/prometheus/prometheus/model/value"
)

// targetSeries is what one target exposed at its previous scrape: Prometheus' scrape
// cache, reduced to what staleness needs. It keeps no map of its own: a series exposed
// by the target is owned by it (memSeries.owner, .gen, .ownTS), found through the
// caller's Ref or the store's index, and listed here for the staleness sweep. A series
// another target exposes later is taken by that target, and leaves this list at its
// next sweep; one the retention dropped likewise.
type targetSeries struct {
	gen    uint64       // the current scrape's, unique within the History (History.gens)
	series []*memSeries // owned as of the previous sweep, and those taken since (possibly twice)
	seen   int          // series owned and seen in the current scrape (see see)
	// oversized counts the sweeps in a row that left series' room far larger than the
	// series held (see settle).
	oversized int
}

// seriesShrinkAfter is how many scrapes in a row must leave a target's list oversized
// before it is made anew (see settle).
const seriesShrinkAfter = 10

// next starts the target's next scrape, numbered gen: no series is seen in it yet.
func (t *targetSeries) next(gen uint64) {
	t.gen = gen
	t.seen = 0
}

// take makes ms the target's: a series new to the store, one no target owns (gone
// stale), or one another target exposed last (it leaves that target's list at its next
// sweep).
func (t *targetSeries) take(ms *memSeries) {
	ms.owner, ms.gen = t, 0
	t.series = append(t.series, ms)
}

// see records that the current scrape exposed ms, which t owns.
func (t *targetSeries) see(ms *memSeries) {
	if ms.gen != t.gen {
		ms.gen = t.gen
		t.seen++
	}
}

// settle ends a scrape that kept the target: a list whose room is more than
// shrinkFactor times the series it holds (a pod that exposed a spike of series once,
// until a rollout fixed it), for seriesShrinkAfter scrapes in a row, is made anew without
// the room of the spike. A list sized for what the target exposes is never made anew,
// and neither is one that a target exposing a spike every few scrapes keeps using. A
// steady target pays one comparison.
func (t *targetSeries) settle() {
	if !oversized(cap(t.series), len(t.series)) {
		t.oversized = 0
		return
	}
	if t.oversized++; t.oversized < seriesShrinkAfter {
		return
	}
	t.series, t.oversized = append([]*memSeries(nil), t.series...), 0
}

// markStale appends a staleness marker at ms to every series the target owns and did not
// expose in the current scrape, and lets it go; it returns how many it wrote. A marker
// that falls at or just before the series' newest sample (a scrape in the same
// millisecond) is written one millisecond after it, as Prometheus writes it at the next
// distinct timestamp. Series with their own timestamps are let go without a marker.
// When keep is false every series is let go. It also returns the time of the latest
// marker written, math.MinInt64 when none. With keep, it ends the target's scrape
// (settle). The caller holds db's mu for writing.
func (t *targetSeries) markStale(db *store, ms int64, keep bool) (n int, latest int64) {
	latest = math.MinInt64
	if keep && t.seen == len(t.series) {
		t.settle()
		return 0, latest // the scrape exposed every series listed, each once: none is stale
	}
	stale := math.Float64frombits(value.StaleNaN)
	k := 0
	for _, s := range t.series {
		switch {
		case s.owner != t:
			// Taken by another target, or let go at an earlier sweep and listed
			// again since.
		case keep && s.gen == t.gen:
			if !s.listed {
				s.listed = true
				t.series[k] = s
				k++
			}
		default:
			s.owner = nil
			if at, ok := staleAt(s, ms); ok {
				db.append(s, at, stale)
				n++
				latest = max(latest, at)
			}
		}
	}
	clear(t.series[k:])
	t.series = t.series[:k]
	for _, s := range t.series {
		s.listed = false
	}
	if keep {
		t.settle()
	}
	return n, latest
}

// staleAt returns when s's staleness marker goes for a scrape at ms, and whether one goes
// at all: not for a series with timestamps of its own, one the retention dropped, or one
// with a later sample of its own (a marker changes nothing a query could see). At or just
// before the series' newest sample, it goes a millisecond after it.
func staleAt(s *memSeries, ms int64) (int64, bool) {
	if s.ownTS || s.dead {
		return 0, false
	}
	if last := s.newest(); ms <= last {
		if last-ms >= shiftTolerance {
			return 0, false
		}
		return last + 1, true
	}
	return ms, true
}
