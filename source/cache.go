package source

import (
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/utils/clock"
)

// CacheEntry is one result for Cache.SetAll to store, and the params it was computed
// with.
type CacheEntry struct {
	// Result is stored under BuildCacheKey(Result.QueryName, Params). The cache keeps the
	// pointer's target by value; its Values and Labels stay shared: read-only.
	Result *MetricResult
	// Params are the query parameters the result was computed with; nil for a query that
	// takes none. The cache keeps its own copy.
	Params map[string]string
}

// Cache is a TTL cache of MetricResults by CacheKey (a query name and its params).
// Readers load an immutable snapshot and never wait; writers copy the snapshot and swap
// it. Expired entries are served by no one and dropped at the next write. The cache never
// goes backwards and keeps only answers: a result replaces the one under its key only when
// it was collected no earlier (MetricResult.CollectedAt) and did not fail (see SetAll).
// The zero value is not usable; use NewCache. It is
// safe for concurrent use.
type Cache struct {
	clock clock.PassiveClock

	mu   sync.Mutex // serialises writers; readers use snap alone
	snap atomic.Pointer[map[CacheKey]*CachedValue]
}

// NewCache returns an empty Cache that reads time from clk (nil: the wall clock).
func NewCache(clk clock.PassiveClock) *Cache {
	if clk == nil {
		clk = clock.RealClock{}
	}
	c := &Cache{clock: clk}
	empty := map[CacheKey]*CachedValue{}
	c.snap.Store(&empty)
	return c
}

// Get returns the unexpired value under key (see BuildCacheKey), or nil. The value is
// shared with every other reader: read-only.
func (c *Cache) Get(key CacheKey) *CachedValue {
	v := (*c.snap.Load())[key]
	if v.IsExpired() {
		return nil
	}
	return v
}

// SetAll stores every entry with the given TTL, in one swap: a reader sees all of them or
// none. The cache only moves forward, and only to answers, for every backend alike:
//   - an entry whose result failed (an Error and no Values) is skipped: it is not an
//     answer, so the last good value under its key stays served until its own TTL runs
//     out (a result with an Error and Values, a partial answer, is stored);
//   - an entry whose result was collected before the one the cache holds under its key
//     (expired but not yet dropped included) is skipped, so a slow refresh that finishes
//     last cannot replace newer data with older; equal collection times replace.
//
// SetAll returns how many entries it stored.
func (c *Cache) SetAll(entries []CacheEntry, ttl time.Duration) (stored int) {
	now := c.clock.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	cur := *c.snap.Load()
	next := make(map[CacheKey]*CachedValue, len(cur)+len(entries))
	for _, e := range entries {
		if e.Result.Error != nil && len(e.Result.Values) == 0 {
			continue
		}
		key := BuildCacheKey(e.Result.QueryName, e.Params)
		if old := cur[key]; old != nil && e.Result.CollectedAt.Before(old.Result.CollectedAt) {
			continue
		}
		next[key] = &CachedValue{
			Result:    *e.Result,
			CachedAt:  now,
			TTL:       ttl,
			ExpiresAt: now.Add(ttl),
			Params:    maps.Clone(e.Params),
			clock:     c.clock,
		}
		stored++
	}
	if stored == 0 {
		return 0
	}
	for key, v := range cur {
		if _, replaced := next[key]; !replaced && !v.IsExpired() {
			next[key] = v
		}
	}
	c.snap.Store(&next)
	return stored
}
