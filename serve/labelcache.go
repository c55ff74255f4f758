package serve

import (
	"github.com/cespare/xxhash/v2"
	"github.com/prometheus/prometheus/model/labels"
)

// labelCache keeps each series' labels from one scrape of a Service to the next, so a
// sample whose labels did not change reuses them: building and sorting a label set for
// each of tens of thousands of samples per scrape is most of what serve adds to a
// scrape. Entries no scrape used for two scrapes are dropped. Not safe for concurrent
// use: a service's scrapes never overlap.
type labelCache struct {
	gen     uint64
	entries map[uint64][]*cachedLabels // by mapHash of the sample's labels
}

type cachedLabels struct {
	lset labels.Labels
	n    int // the number of labels of the sample the entry was built from
	gen  uint64
}

// mapHash hashes a sample's labels independently of the map's iteration order.
func mapHash(m map[string]string) uint64 {
	var sum uint64
	var d xxhash.Digest
	for k, v := range m {
		d.Reset()
		_, _ = d.WriteString(k)
		_, _ = d.Write([]byte{0xff})
		_, _ = d.WriteString(v)
		sum += d.Sum64()
	}
	return sum
}

// get returns the labels build(m) returns, from the cache when an entry was built from
// the same labels.
func (c *labelCache) get(m map[string]string, build func() labels.Labels) labels.Labels {
	if c.entries == nil {
		c.entries = map[uint64][]*cachedLabels{}
	}
	h := mapHash(m)
	for _, e := range c.entries[h] {
		if e.n == len(m) && sameSource(e.lset, m) {
			e.gen = c.gen
			return e.lset
		}
	}
	lset := build()
	c.entries[h] = append(c.entries[h], &cachedLabels{lset: lset, n: len(m), gen: c.gen})
	return lset
}

// sameSource reports whether lset was built from m: every label of m is in lset with its
// value, or, for job and namespace, under its exported name. With equal label counts and
// the same added labels, that makes them equal.
func sameSource(lset labels.Labels, m map[string]string) bool {
	for k, v := range m {
		got := lset.Get(k)
		if (k == jobLabel || k == namespaceLabel) && got != v {
			got = lset.Get("exported_" + k)
		}
		if got != v {
			return false
		}
	}
	return true
}

// next starts a scrape: entries not used by the previous two are dropped.
func (c *labelCache) next() {
	c.gen++
	if c.gen%2 != 0 {
		return
	}
	for h, list := range c.entries {
		kept := list[:0]
		for _, e := range list {
			if c.gen-e.gen <= 2 {
				kept = append(kept, e)
			}
		}
		if len(kept) == 0 {
			delete(c.entries, h)
		} else {
			c.entries[h] = kept
		}
	}
}
