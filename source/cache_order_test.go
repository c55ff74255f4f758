package source

import (
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/utils/clock"
	clocktesting "k8s.io/utils/clock/testing"
)

// A result collected earlier is not stored once the newer one has expired, while the
// expired entry is still in the snapshot (nothing was written since): a slow refresh
// finishing late cannot bring back older data. TestCacheOlderResultAfterNewerDropped
// covers the entry dropped by a write in between.
func TestCacheOlderResultAfterNewerExpired(t *testing.T) {
	t0 := time.Unix(1000, 0)
	clk := clocktesting.NewFakePassiveClock(t0)
	c := NewCache(clk)
	c.SetAll(entries(&MetricResult{QueryName: "q", CollectedAt: t0.Add(time.Second), Values: []MetricValue{{Value: 2}}}), 10*time.Second)
	clk.SetTime(t0.Add(20 * time.Second)) // the newer result has expired
	if c.Get("q") != nil {
		t.Fatal("Get(q) past its TTL: want nil")
	}
	stored := c.SetAll(entries(&MetricResult{QueryName: "q", CollectedAt: t0, Values: []MetricValue{{Value: 1}}}), 10*time.Second)
	if got := c.Get("q"); stored != 0 || got != nil {
		t.Fatalf("an older result after the newer expired: stored %d, Get(q) = %+v; want 0 stored and nil", stored, got)
	}
}

// Two results of one key in one SetAll: the newer is kept whichever comes last, as it
// would be across two calls; equal collection times keep the later one.
func TestCacheBatchNeverGoesBackwards(t *testing.T) {
	t0 := time.Unix(1000, 0)
	older := &MetricResult{QueryName: "q", CollectedAt: t0, Values: []MetricValue{{Value: 1}}}
	newer := &MetricResult{QueryName: "q", CollectedAt: t0.Add(time.Second), Values: []MetricValue{{Value: 2}}}
	equal := &MetricResult{QueryName: "q", CollectedAt: t0.Add(time.Second), Values: []MetricValue{{Value: 3}}}
	for _, tc := range []struct {
		name       string
		batch      []*MetricResult
		want       float64
		wantStored int
	}{
		{"newer then older", []*MetricResult{newer, older}, 2, 1},
		{"older then newer", []*MetricResult{older, newer}, 2, 2},
		{"equal: the later", []*MetricResult{newer, equal}, 3, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := NewCache(clocktesting.NewFakePassiveClock(t0))
			stored := c.SetAll(entries(tc.batch...), time.Minute)
			if got := first(c.Get("q")); got != tc.want || stored != tc.wantStored {
				t.Errorf("got value %v stored %d, want %v stored %d", got, stored, tc.want, tc.wantStored)
			}
		})
	}
}

// Once the newer result of a key has expired and a write of another key dropped it, an
// older result of that key is still refused: the key's newest collection time outlives
// its entry. It is forgotten once the entry has been expired for as long as the longest
// TTL, so the cache does not remember every key it ever held.
func TestCacheOlderResultAfterNewerDropped(t *testing.T) {
	t0 := time.Unix(1000, 0)
	const ttl = 10 * time.Second
	clk := clocktesting.NewFakePassiveClock(t0)
	c := NewCache(clk)
	c.SetAll(entries(&MetricResult{QueryName: "q", CollectedAt: t0.Add(time.Second), Values: []MetricValue{{Value: 2}}}), ttl)
	clk.SetTime(t0.Add(15 * time.Second)) // q expired at t0+10s
	c.SetAll(entries(&MetricResult{QueryName: "other", CollectedAt: clk.Now(), Values: []MetricValue{{Value: 9}}}), ttl)
	if _, held := (*c.snap.Load())["q"]; held {
		t.Fatal("the expired q is still in the snapshot after a write: this test no longer covers a dropped entry")
	}
	if stored := c.SetAll(entries(&MetricResult{QueryName: "q", CollectedAt: t0, Values: []MetricValue{{Value: 1}}}), ttl); stored != 0 || c.Get("q") != nil {
		t.Errorf("an older q after the newer expired and was dropped: stored %d, Get(q) = %+v; want 0 stored and nil", stored, c.Get("q"))
	}

	// Expired for exactly the longest TTL: still remembered; a moment later: forgotten.
	clk.SetTime(t0.Add(10*time.Second + ttl))
	if stored := c.SetAll(entries(&MetricResult{QueryName: "q", CollectedAt: t0, Values: []MetricValue{{Value: 1}}}), ttl); stored != 0 {
		t.Errorf("an older q when the newer has been expired for the longest TTL: stored %d, want 0", stored)
	}
	clk.SetTime(t0.Add(10*time.Second + ttl + time.Millisecond))
	if stored := c.SetAll(entries(&MetricResult{QueryName: "q", CollectedAt: t0, Values: []MetricValue{{Value: 1}}}), ttl); stored != 1 || first(c.Get("q")) != 1 {
		t.Errorf("an older q once the newer has been expired for longer than the longest TTL: stored %d, Get(q) = %+v; want it stored (forgotten)", stored, c.Get("q"))
	}
}

// Concurrent SetAll calls lose no update: a writer that loaded the snapshot swaps it
// before another writer loads it. The race detector cannot see a lost update (the
// snapshot is swapped atomically), so the test makes the interleaving happen: writer A
// is held inside SetAll, after it loaded the snapshot (its clock is read there, to drop
// expired entries), until writer B has either finished (B did not wait for A) or blocks
// on the cache's lock. Then A goes on, and both entries must be there.
func TestCacheConcurrentSetAllLosesNothing(t *testing.T) {
	clk := &gateClock{PassiveClock: clocktesting.NewFakePassiveClock(time.Unix(1000, 0))}
	c := NewCache(clk)
	c.SetAll(entries(&MetricResult{QueryName: "held"}), time.Hour) // so A has an entry to check

	bDone := make(chan struct{})
	held := false
	clk.setGate(func(call int) {
		if call != 2 { // A's first read is before it loads the snapshot
			return
		}
		held = true
		go func() {
			defer close(bDone)
			c.SetAll(entries(&MetricResult{QueryName: "b"}), time.Hour)
		}()
		deadline := time.Now().Add(10 * time.Second)
		for {
			select {
			case <-bDone:
				return // B stored while A held an older snapshot
			default:
			}
			if blockedInSetAll() {
				return // B waits for A's lock
			}
			if time.Now().After(deadline) {
				t.Error("writer B neither finished nor blocked on the cache's lock within 10s")
				return
			}
			time.Sleep(time.Millisecond) // polling B's state with a deadline
		}
	})
	c.SetAll(entries(&MetricResult{QueryName: "a"}), time.Hour)
	clk.setGate(nil)
	if !held {
		t.Fatal("SetAll no longer reads the clock after loading the snapshot: this test cannot hold writer A there; rewrite it")
	}
	<-bDone
	for _, key := range []CacheKey{"held", "a", "b"} {
		if c.Get(key) == nil {
			t.Errorf("Get(%s) after concurrent SetAll calls: nil, want the entry stored (an update was lost)", key)
		}
	}
}

// gateClock calls gate, when set, on each read of the time, with the read's number from 1
// on. It is safe for concurrent use; gate runs outside its lock.
type gateClock struct {
	clock.PassiveClock
	mu    sync.Mutex // protects calls, gate
	calls int
	gate  func(call int)
}

func (c *gateClock) setGate(gate func(call int)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gate, c.calls = gate, 0
}

func (c *gateClock) Now() time.Time {
	c.mu.Lock()
	gate := c.gate
	c.calls++
	call := c.calls
	c.mu.Unlock()
	if gate != nil {
		gate(call)
	}
	return c.PassiveClock.Now()
}

// blockedInSetAll reports whether some goroutine waits for a mutex inside Cache.SetAll.
func blockedInSetAll() bool {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "[sync.Mutex.Lock") && strings.Contains(g, "(*Cache).SetAll") {
			return true
		}
	}
	return false
}
