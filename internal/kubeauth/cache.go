package kubeauth

import (
	"sync"
	"time"
)

// maxCached bounds a cache: past it, expired answers are dropped, then all of them. A
// client keeps one token and asks a few paths; thousands of entries are an attack or a
// leak, and an empty cache only costs reviews.
const maxCached = 4096

// ttlCache keeps review answers until they expire. It is safe for concurrent use.
type ttlCache[K comparable, V any] struct {
	mu      sync.Mutex
	entries map[K]ttlEntry[V]
}

type ttlEntry[V any] struct {
	value   V
	expires time.Time
}

// get is key's answer, unless it is missing or expired at now.
func (c *ttlCache[K, V]) get(key K, now time.Time) (V, bool) {
	c.mu.Lock()
	e, ok := c.entries[key]
	c.mu.Unlock()
	if !ok || !now.Before(e.expires) {
		var zero V
		return zero, false
	}
	return e.value, true
}

// put keeps value as key's answer until expires; now is the time it was given.
func (c *ttlCache[K, V]) put(key K, value V, now, expires time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[K]ttlEntry[V]{}
	}
	if len(c.entries) >= maxCached {
		c.evict(now)
	}
	c.entries[key] = ttlEntry[V]{value: value, expires: expires}
}

// evict drops the entries expired at now and, when none was, all of them.
func (c *ttlCache[K, V]) evict(now time.Time) {
	n := len(c.entries)
	for k, e := range c.entries {
		if !now.Before(e.expires) {
			delete(c.entries, k)
		}
	}
	if len(c.entries) == n {
		clear(c.entries)
	}
}
