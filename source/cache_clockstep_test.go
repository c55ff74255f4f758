package source

import (
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"
)

// TestCacheAfterTheClockStepsBack: the clock (a fake one, as a wall clock without its
// monotonic reading reads) steps back a minute after a refresh stored 1 (TTL 30 s). The
// value from before the step is not served: its age cannot be told. The next refresh's 2,
// collected since the step (before the stored CollectedAt), replaces it, and expires at
// its own TTL on the clock as it now reads. A slow refresh collected before the step and
// finishing after that one is older than 2: refused. Before, the refresh's 2 was refused
// as older, and Get served 1 for the TTL plus the step (still 1 sixty seconds after the
// refresh that answered 2).
func TestCacheAfterTheClockStepsBack(t *testing.T) {
	t0 := time.Unix(10000, 0)
	clk := clocktesting.NewFakePassiveClock(t0)
	c := NewCache(clk)
	const ttl = 30 * time.Second
	put := func(collected time.Time, v float64) int {
		return c.SetAll(entries(&MetricResult{QueryName: "q", CollectedAt: collected, Values: []MetricValue{{Value: v, Timestamp: collected}}}), ttl)
	}
	if put(t0, 1) != 1 || first(c.Get("q")) != 1 {
		t.Fatal("the first refresh's 1 not stored")
	}
	clk.SetTime(t0.Add(-time.Minute)) // NTP steps the clock back a minute
	if v := c.Get("q"); v != nil {
		t.Errorf("Get after the clock stepped back below the value's CachedAt: %v (cached at %s, now %s), want nil: its age cannot be told",
			first(v), v.CachedAt, clk.Now())
	}
	if got := (&CachedValue{CachedAt: t0, ExpiresAt: t0.Add(ttl), clock: clk}); !got.IsExpired() || got.IsFresh(time.Hour) {
		t.Errorf("a value cached after now: expired %v, fresh %v; want expired, not fresh", got.IsExpired(), got.IsFresh(time.Hour))
	}
	after := clk.Now()
	if stored := put(after, 2); stored != 1 || first(c.Get("q")) != 2 {
		t.Fatalf("the refresh after the step: stored %d, Get = %v; want 1 stored and 2", stored, first(c.Get("q")))
	}
	// A refresh that collected before the step (on the clock found wrong) finishes last.
	if stored := put(t0.Add(-time.Second), 3); stored != 0 || first(c.Get("q")) != 2 {
		t.Errorf("a refresh collected before the step, finishing after the next: stored %d, Get = %v; want 0 stored and 2", stored, first(c.Get("q")))
	}
	clk.SetTime(after.Add(ttl - time.Millisecond))
	if first(c.Get("q")) != 2 {
		t.Errorf("within the TTL of the refresh after the step: Get = %v, want 2", first(c.Get("q")))
	}
	clk.SetTime(after.Add(time.Minute))
	if v := c.Get("q"); v != nil {
		t.Errorf("a minute after the refresh that answered 2 (TTL 30s): Get = %v, want nil", first(v))
	}
	// Once the clock passed what it read before the step, results compare by CollectedAt
	// again, a later refresh's replacing.
	clk.SetTime(t0.Add(time.Minute))
	if stored := put(clk.Now(), 4); stored != 1 || first(c.Get("q")) != 4 {
		t.Errorf("a refresh once the clock caught up: stored %d, Get = %v; want 1 and 4", stored, first(c.Get("q")))
	}
	if stored := put(t0, 5); stored != 0 {
		t.Errorf("an older result once the clock caught up: stored %d, want 0", stored)
	}
}
