package pod

import (
	"slices"
	"sync"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/podscrape/podscrape/internal/exposition"
)

// seriesCaches keeps each pod's series labels from one ScrapeSeries to the next, as
// Prometheus' scrape cache does: a series a pod exposed last time is labelled without
// building its labels again (no sort, no allocation), and its labels are the very ones
// the caller's history already holds.
type seriesCaches struct {
	mu    sync.Mutex              // protects byPod
	byPod map[string]*seriesCache // by pod key; a cache in use by a scrape is out of the map
}

// seriesCache is one pod's series labels, by the sample's name and exposed labels.
type seriesCache struct {
	target  []labels.Label // the target labels the entries were built with
	gen     uint64         // the current scrape's
	seen    int            // entries used by the current scrape
	entries map[string]*seriesEntry
	key     []byte // the lookup key being built
}

type seriesEntry struct {
	labels labels.Labels
	gen    uint64 // the last scrape that used it
}

// take returns the cache of pod key for one scrape, built for target (emptied when it
// was built for other target labels), out of the map until put back.
func (c *seriesCaches) take(key string, target []labels.Label) *seriesCache {
	c.mu.Lock()
	sc := c.byPod[key]
	delete(c.byPod, key)
	c.mu.Unlock()
	if sc == nil || !slices.Equal(sc.target, target) {
		sc = &seriesCache{target: target, entries: map[string]*seriesEntry{}}
	}
	sc.gen++
	sc.seen = 0
	return sc
}

// put returns a pod's cache after its scrape; a scrape that succeeded forgets the series
// it did not see.
func (c *seriesCaches) put(key string, sc *seriesCache, ok bool) {
	if ok && len(sc.entries) > sc.seen {
		for k, e := range sc.entries {
			if e.gen != sc.gen {
				delete(sc.entries, k)
			}
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byPod == nil {
		c.byPod = map[string]*seriesCache{}
	}
	c.byPod[key] = sc
}

// keep forgets the caches of pods not in targets.
func (c *seriesCaches) keep(targets []target) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.byPod) <= len(targets) {
		return
	}
	live := make(map[string]struct{}, len(targets))
	for i := range targets {
		live[targets[i].key] = struct{}{}
	}
	for k := range c.byPod {
		if _, ok := live[k]; !ok {
			delete(c.byPod, k)
		}
	}
}

// labels returns smp's series labels from the cache, building them with build when the
// pod did not expose the series at its previous scrape.
func (sc *seriesCache) labels(smp *exposition.Sample, build func(*exposition.Sample) labels.Labels) labels.Labels {
	k := append(sc.key[:0], smp.Name...)
	for _, l := range smp.Labels {
		k = append(k, 0xff)
		k = append(k, l.Name...)
		k = append(k, 0xfe)
		k = append(k, l.Value...)
	}
	sc.key = k
	if e, ok := sc.entries[string(k)]; ok {
		if e.gen != sc.gen {
			e.gen = sc.gen
			sc.seen++
		}
		return e.labels
	}
	ls := build(smp)
	sc.entries[string(k)] = &seriesEntry{labels: ls, gen: sc.gen}
	sc.seen++
	return ls
}
