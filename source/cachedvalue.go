package source

import (
	"maps"
	"slices"
	"strings"
	"time"

	"k8s.io/utils/clock"
)

// CacheKey identifies a cached result: a query name and the params it ran with, as
// BuildCacheKey writes them. Its zero value is the key of the query with an empty name.
type CacheKey string

// BuildCacheKey returns the cache key of queryName run with params: the name alone when
// params is empty, else the name and the params sorted by key ("q:a=1,b=2"). Two maps
// with the same entries give the same key, and distinct (name, params) pairs distinct
// keys: a backslash, ',' and '=' in the name, and those and ':' in a param's key or
// value, are escaped with a backslash ("q:filter=a\,b"). params is only read.
func BuildCacheKey(queryName string, params map[string]string) CacheKey {
	if len(params) == 0 && !strings.ContainsAny(queryName, `\,=`) {
		return CacheKey(queryName)
	}
	var b strings.Builder
	writeEscaped(&b, queryName, `\,=`)
	for i, k := range slices.Sorted(maps.Keys(params)) {
		if i == 0 {
			b.WriteByte(':')
		} else {
			b.WriteByte(',')
		}
		writeEscaped(&b, k, `\,=:`)
		b.WriteByte('=')
		writeEscaped(&b, params[k], `\,=:`)
	}
	return CacheKey(b.String())
}

// writeEscaped writes s with a backslash before each byte of special.
func writeEscaped(b *strings.Builder, s, special string) {
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(special, s[i]) >= 0 {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
}

// CachedValue is a cached MetricResult with its lifetime.
//
// Every method is safe on a nil *CachedValue, so the result of a cache miss can be tested
// directly: nil is expired, never fresh, and of age 0. A value served by a Cache reads
// time from that cache's clock; one built as a literal reads the wall clock. A
// CachedValue is not modified after it is stored: share it, do not change it.
type CachedValue struct {
	// Result is the cached result. Shared: read-only.
	Result MetricResult
	// CachedAt is when the result was stored.
	CachedAt time.Time
	// TTL is how long the value is served after CachedAt.
	TTL time.Duration
	// ExpiresAt is when the value stops being served: CachedAt plus TTL. When zero (a
	// value built as a literal with CachedAt and TTL only), CachedAt plus TTL is used.
	ExpiresAt time.Time
	// Params are the query parameters the result was computed with; nil for queries that
	// take none. Shared: read-only.
	Params map[string]string

	clock clock.PassiveClock // the cache's clock; nil means the wall clock
}

func (v *CachedValue) now() time.Time {
	if v.clock == nil {
		return time.Now()
	}
	return v.clock.Now()
}

// expiresAt is ExpiresAt, or CachedAt plus TTL when ExpiresAt is unset.
func (v *CachedValue) expiresAt() time.Time {
	if v.ExpiresAt.IsZero() {
		return v.CachedAt.Add(v.TTL)
	}
	return v.ExpiresAt
}

// IsExpired reports whether the value has reached the end of its TTL: it is expired from
// ExpiresAt on (CachedAt plus TTL when ExpiresAt is zero), that instant included, so a
// value is expired at exactly its TTL. Upstream's time.Since(CachedAt) > TTL counts it
// expired only after that instant. A value whose CachedAt is after the clock's now is
// expired too: the clock was stepped back since it was stored (a fake clock set back, a
// wall-clock time without its monotonic reading stepped back by NTP), and how old it is
// cannot be told; served for its TTL plus the step, it would be an answer from before
// the step, minutes old. A nil value is expired.
func (v *CachedValue) IsExpired() bool {
	if v == nil {
		return true
	}
	now := v.now()
	return !now.Before(v.expiresAt()) || now.Before(v.CachedAt)
}

// Age is how long ago the value was stored; 0 for a nil value. It is negative when the
// clock was stepped back since (see IsExpired).
func (v *CachedValue) Age() time.Duration {
	if v == nil {
		return 0
	}
	return v.now().Sub(v.CachedAt)
}

// IsFresh reports whether the value was stored no longer than threshold ago, whatever its
// TTL: a caller that needs fresher data than the source's TTL asks this. A nil value is
// never fresh, nor one stored after the clock's now (the clock was stepped back since:
// its age cannot be told).
func (v *CachedValue) IsFresh(threshold time.Duration) bool {
	if v == nil {
		return false
	}
	age := v.Age()
	return age >= 0 && age <= threshold
}
