package history

import (
	"math"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/storage"
)

// targetSeries is what one target exposed at its previous scrape: Prometheus' scrape
// cache, reduced to what staleness needs.
type targetSeries struct {
	gen    uint64              // the current scrape; an entry not seen in it is stale
	series map[uint64][]*entry // by label hash; a slice for the rare collision
}

// entry is one series of a target.
type entry struct {
	lset  labels.Labels
	ref   storage.SeriesRef // the storage's reference, 0 until the first append
	gen   uint64            // the last scrape that exposed it
	ownTS bool              // its samples carry their own timestamps: never marked stale
}

func newTargetSeries() *targetSeries {
	return &targetSeries{series: map[uint64][]*entry{}}
}

func (t *targetSeries) lookup(lset labels.Labels) *entry {
	for _, e := range t.series[lset.Hash()] {
		if labels.Equal(e.lset, lset) {
			return e
		}
	}
	return nil
}

func (t *targetSeries) add(lset labels.Labels, ownTS bool) *entry {
	e := &entry{lset: lset, ownTS: ownTS}
	h := lset.Hash()
	t.series[h] = append(t.series[h], e)
	return e
}

// markStale appends a staleness marker at ms to every series not exposed in the current
// scrape and forgets it; it returns how many it wrote. Series with their own timestamps
// are forgotten without a marker. When keep is false every series is forgotten.
func (t *targetSeries) markStale(app storage.Appender, ms int64, keep bool) int {
	stale := math.Float64frombits(value.StaleNaN)
	n := 0
	for h, list := range t.series {
		kept := list[:0]
		for _, e := range list {
			if e.gen == t.gen && keep {
				kept = append(kept, e)
				continue
			}
			if e.ownTS {
				continue
			}
			// A marker the storage refuses (the series already has a later sample, from a
			// timestamp of its own) changes nothing a query could see.
			if _, err := app.Append(e.ref, e.lset, ms, stale); err == nil {
				n++
			}
		}
		if len(kept) == 0 {
			delete(t.series, h)
		} else {
			t.series[h] = kept
		}
	}
	return n
}
