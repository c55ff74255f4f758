package kubeauth

import (
	"testing"
	"time"
)

func TestCacheEvictsTheExpiredThenAll(t *testing.T) {
	now := time.Unix(100, 0)
	var c ttlCache[int, string]
	for i := range maxCached {
		c.put(i, "x", now, now.Add(time.Duration(i%2)*time.Second)) // the even ones expired at now
	}
	c.put(-1, "new", now, now.Add(time.Second))
	if len(c.entries) != maxCached/2+1 {
		t.Errorf("full, half of it expired: %d entries after a put, want %d", len(c.entries), maxCached/2+1)
	}
	if _, ok := c.get(0, now); ok {
		t.Error("an expired entry answered")
	}
	if v, ok := c.get(-1, now); !ok || v != "new" {
		t.Errorf("the new entry: %q, %v", v, ok)
	}
	for i := len(c.entries); i < maxCached; i++ {
		c.put(maxCached+i, "y", now, now.Add(time.Second))
	}
	c.put(-2, "newer", now, now.Add(time.Second))
	if len(c.entries) != 1 {
		t.Errorf("full, none expired: %d entries after a put, want only the new one", len(c.entries))
	}
	if _, ok := c.get(-2, now.Add(time.Second)); ok {
		t.Error("an entry answered at its expiry")
	}
}
