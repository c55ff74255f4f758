package source

import (
	"sync"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"
)

// Two writers whose SetAll calls interleave are not taken for a clock stepped back: a
// writer that read the clock and then waited (descheduled, or behind another writer
// copying a large snapshot) while a later writer stored a newer result under the same
// key must not replace it with its older one. SetAll read the clock before taking its
// lock, so the later writer's reading came first: the earlier one's, older than the
// latest the cache had seen, read as a clock stepped back, and its result, collected
// before the newer one's but "since the step", replaced it with a fresh TTL: Get served
// the older answer.
func TestCacheInterleavedWritersAreNoClockStep(t *testing.T) {
	t0 := time.Unix(1000, 0)
	clk := &readHookClock{FakePassiveClock: clocktesting.NewFakePassiveClock(t0)}
	c := NewCache(clk)
	older := &MetricResult{QueryName: "q", CollectedAt: t0.Add(-time.Second), Values: []MetricValue{{Value: 1}}}
	newer := &MetricResult{QueryName: "q", CollectedAt: t0.Add(500 * time.Millisecond), Values: []MetricValue{{Value: 2}}}

	// Writer A's first reading of the clock is t0. Right after it, the clock moves on a
	// second and writer B, whose result was collected after t0, stores it: at once if A
	// holds no lock yet, else once A has finished.
	bDone := make(chan struct{})
	clk.setHook(func(call int) {
		if call != 1 {
			return
		}
		clk.SetTime(t0.Add(time.Second))
		go func() {
			defer close(bDone)
			c.SetAll(entries(newer), time.Minute)
		}()
		deadline := time.Now().Add(10 * time.Second)
		for {
			select {
			case <-bDone:
				return // B stored before A took the lock
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
	c.SetAll(entries(older), time.Minute)
	clk.setHook(nil)
	<-bDone
	if got := first(c.Get("q")); got != 2 {
		t.Fatalf("Get(q) after a writer's older result interleaved with a newer one: %g, want 2 (the result collected later)", got)
	}
}

// readHookClock calls hook, when set, right after each reading of the time, with the
// reading's number from 1 on: the reader holds the time read while hook runs. Safe for
// concurrent use; hook runs outside its lock.
type readHookClock struct {
	*clocktesting.FakePassiveClock
	mu    sync.Mutex // protects calls, hook
	calls int
	hook  func(call int)
}

func (c *readHookClock) setHook(hook func(call int)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.hook, c.calls = hook, 0
}

func (c *readHookClock) Now() time.Time {
	now := c.FakePassiveClock.Now()
	c.mu.Lock()
	hook := c.hook
	c.calls++
	call := c.calls
	c.mu.Unlock()
	if hook != nil {
		hook(call)
	}
	return now
}
