package source

import (
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/utils/clock"
)

// CachedValue is a cached MetricResult with its lifetime.
type CachedValue struct {
	// Result is the cached result. Shared: read-only.
	Result MetricResult
	// CachedAt is when the result was stored.
	CachedAt time.Time
	// ExpiresAt is when the result stops being served.
	ExpiresAt time.Time

	clock clock.PassiveClock // the cache's clock; nil means the wall clock
}

func (v *CachedValue) now() time.Time {
	if v.clock == nil {
		return time.Now()
	}
	return v.clock.Now()
}

// IsExpired reports whether the value has outlived its TTL.
func (v *CachedValue) IsExpired() bool {
	return !v.now().Before(v.ExpiresAt)
}

// Age is how long ago the value was stored.
func (v *CachedValue) Age() time.Duration {
	return v.now().Sub(v.CachedAt)
}

// Cache is a TTL cache of MetricResults by key. Readers load an immutable snapshot and
// never wait; writers copy the snapshot and swap it. Expired entries are served by no one
// and dropped at the next write. The zero value is not usable; use NewCache. It is safe
// for concurrent use.
type Cache struct {
	clock clock.PassiveClock

	mu   sync.Mutex // serialises writers; readers use snap alone
	snap atomic.Pointer[map[string]*CachedValue]
}

// NewCache returns an empty Cache that reads time from clk (nil: the wall clock).
func NewCache(clk clock.PassiveClock) *Cache {
	if clk == nil {
		clk = clock.RealClock{}
	}
	c := &Cache{clock: clk}
	empty := map[string]*CachedValue{}
	c.snap.Store(&empty)
	return c
}

// Get returns the unexpired value under key, or nil.
func (c *Cache) Get(key string) *CachedValue {
	v := (*c.snap.Load())[key]
	if v == nil || v.IsExpired() {
		return nil
	}
	return v
}

// SetAll stores every result under its key with the given TTL, in one swap: a reader
// sees all of them or none.
func (c *Cache) SetAll(results map[string]*MetricResult, ttl time.Duration) {
	now := c.clock.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	next := maps.Clone(*c.snap.Load())
	maps.DeleteFunc(next, func(_ string, v *CachedValue) bool { return v.IsExpired() })
	for key, r := range results {
		next[key] = &CachedValue{Result: *r, CachedAt: now, ExpiresAt: now.Add(ttl), clock: c.clock}
	}
	c.snap.Store(&next)
}

// CacheKey is the cache key of a query run with params: the name alone without params,
// else the name and the params sorted by key ("q:a=1,b=2").
func CacheKey(queryName string, params map[string]string) string {
	if len(params) == 0 {
		return queryName
	}
	var b strings.Builder
	b.WriteString(queryName)
	for i, k := range slices.Sorted(maps.Keys(params)) {
		if i == 0 {
			b.WriteByte(':')
		} else {
			b.WriteByte(',')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(params[k])
	}
	return b.String()
}
