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
// it. Expired entries are served by no one and dropped at the next SetAll that stores an
// entry. The cache never
// goes backwards and keeps only answers: a result is stored only when it was collected no
// earlier (MetricResult.CollectedAt) than the newest stored under its key, also after that
// one expired, and did not fail (see SetAll). The zero value is not usable; use NewCache.
// It is safe for concurrent use.
type Cache struct {
	clock clock.PassiveClock

	mu   sync.Mutex // serialises writers and protects newest, maxTTL and seen; readers use snap alone
	snap atomic.Pointer[map[CacheKey]*CachedValue]
	// newest is each key's latest CollectedAt stored, kept after its entry expired and was
	// dropped, so that an older result cannot come back with a fresh TTL (see SetAll).
	newest map[CacheKey]mark
	maxTTL time.Duration // the longest TTL SetAll was given
	// seen is the latest time SetAll read from the clock, its wall reading: while the
	// clock reads before it, it was stepped back since (see SetAll).
	seen time.Time
}

// mark is the newest result stored under a key: when it was collected, and when its
// entry expired or expires.
type mark struct {
	collected time.Time
	expires   time.Time
}

// NewCache returns an empty Cache that reads time from clk (nil: the wall clock).
func NewCache(clk clock.PassiveClock) *Cache {
	if clk == nil {
		clk = clock.RealClock{}
	}
	c := &Cache{clock: clk, newest: map[CacheKey]mark{}}
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
//   - an entry whose result was collected before the newest result stored under its
//     key is skipped, so a slow refresh that finishes last cannot replace newer data with
//     older; equal collection times replace. The newest includes an entry earlier in the
//     same batch, and one that expired and was dropped: a key's newest collection time is
//     kept until its entry has been expired for as long as the longest TTL the cache was
//     given. So the cache remembers only the keys written within their TTL plus the
//     longest TTL, and an older result comes back only from a refresh that ran longer
//     than that (a minute at the sources' default TTL of 30s, whose query and scrape
//     timeouts are 10s and 5s).
//
// A clock stepped back (NTP stepping a wall clock read without its monotonic reading, a
// fake clock set back) does not keep the answers from before the step: a value whose
// CachedAt is after the clock's now is expired (its age cannot be told, see
// CachedValue.IsExpired), and until the clock reads again past the latest time a SetAll
// read from it, a result collected at or before now (by a refresh since the step) is
// later than one collected after now (before the step, on the clock found wrong),
// whatever their CollectedAt say; two of the same side compare as above. These read the
// clock's wall time: the wall clock's readings also carry Go's monotonic clock, which
// NTP's steps do not move, so CachedValue's expiry (by it) is not fooled there, but a
// CollectedAt without it (a history's millisecond timestamp) compares by the wall time.
//
// SetAll returns how many entries it stored.
func (c *Cache) SetAll(entries []CacheEntry, ttl time.Duration) (stored int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	// Read under the lock: the writers' readings are then in the order they store in, so
	// one that read the clock before another stored is never taken for a step back.
	now := c.clock.Now()
	c.maxTTL = max(c.maxTTL, ttl)
	// The wall readings: a wall clock's monotonic one does not see NTP's steps.
	stepped := c.seen.After(now.Round(0)) // the clock was stepped back, and has not caught up
	if !stepped {
		c.seen = now.Round(0)
	}
	for key, m := range c.newest {
		if now.After(m.expires.Add(c.maxTTL)) {
			delete(c.newest, key)
		}
	}
	cur := *c.snap.Load()
	next := make(map[CacheKey]*CachedValue, len(cur)+len(entries))
	for _, e := range entries {
		if e.Result.Error != nil && len(e.Result.Values) == 0 {
			continue
		}
		key := BuildCacheKey(e.Result.QueryName, e.Params)
		if m, ok := c.newest[key]; ok && older(e.Result.CollectedAt, m.collected, now, stepped) {
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
		c.newest[key] = mark{collected: e.Result.CollectedAt, expires: now.Add(ttl)}
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

// older reports whether a result collected at collected is older than the newest stored
// under its key, collected at newest, when the clock reads now: collected earlier, or,
// after the clock stepped back, collected before the step (after now) while the newest was
// collected since (at or before now). See SetAll.
func older(collected, newest, now time.Time, stepped bool) bool {
	if stepped {
		now = now.Round(0) // the wall reading: a step back is in it
		since, newestSince := !collected.Round(0).After(now), !newest.Round(0).After(now)
		if since != newestSince {
			return !since
		}
	}
	return collected.Before(newest)
}
