package history

import (
	"strconv"
	"sync"

	"github.com/prometheus/prometheus/model/labels"
)

// matchCache keeps, by selector, the series matching it, while the postings hold the
// same series: an autoscaler asks the same few selectors every poll, and checking every
// matcher on each of a metric's series (200 pods' for each of its queries) was about 3 %
// of serve's CPU. Series never change their labels, so a selector's matches change only
// when a series is created or dropped (postings.gen).
type matchCache struct {
	mu   sync.Mutex
	gen  uint64                  // the postings' gen that sets are of
	sets map[string][]*memSeries // by appendMatcherKey
}

// Bounds of the cache: a selector whose index list holds more than maxCachedMatch
// series (a federation's {__name__=~".+"}, a Grafana label query) is not kept, and its
// callers check its matchers on each candidate as they read it, stopping at the first
// they need; at most maxCachedSelectors selectors are kept (the cache starts over when
// full). The cache holds at most about a megabyte of pointers whatever is asked.
const (
	maxCachedMatch     = 4096
	maxCachedSelectors = 32
)

// matching returns the series that may match ms, in the order they were created when
// taken from one postings list (an equality's, or every series), in the map order of
// their values when gathered from several (a regular expression's), and whether every one of them matches every matcher: the selector's kept or newly
// kept matches (all true), or, for a selector of more than maxCachedMatch candidates,
// the candidates (postings.candidates) whose matchers the caller checks. The caller
// holds the store's mu (for reading or writing) and must not change the slice.
func (p *postings) matching(ms []*labels.Matcher) (set []*memSeries, all bool) {
	var buf [256]byte
	key := appendMatcherKey(buf[:0], ms)
	c := &p.cache
	c.mu.Lock()
	if c.gen != p.gen {
		clear(c.sets)
		c.gen = p.gen
	}
	set, ok := c.sets[string(key)] // no copy of key made to look it up
	c.mu.Unlock()
	if ok {
		return set, true
	}
	cands := p.candidates(ms)
	if len(cands) > maxCachedMatch {
		return cands, false
	}
	set = make([]*memSeries, 0, len(cands))
	for _, s := range cands {
		if matchesAll(s.lset, ms) {
			set = append(set, s)
		}
	}
	c.mu.Lock() // gen cannot have moved: the caller holds the store's mu
	if c.sets == nil || len(c.sets) >= maxCachedSelectors {
		c.sets = make(map[string][]*memSeries, maxCachedSelectors)
	}
	c.sets[string(key)] = set
	c.mu.Unlock()
	return set, true
}

// appendMatcherKey appends ms as a map key to b: each matcher's type, and its name and
// value each prefixed by its length, so no two sets of matchers share a key.
func appendMatcherKey(b []byte, ms []*labels.Matcher) []byte {
	for _, m := range ms {
		b = append(b, byte(m.Type))
		b = strconv.AppendInt(b, int64(len(m.Name)), 10)
		b = append(b, ':')
		b = append(b, m.Name...)
		b = strconv.AppendInt(b, int64(len(m.Value)), 10)
		b = append(b, ':')
		b = append(b, m.Value...)
	}
	return b
}
