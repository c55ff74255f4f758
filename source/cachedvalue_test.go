package source

import (
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"
)

func TestCachedValueNil(t *testing.T) {
	var v *CachedValue
	if !v.IsExpired() || v.Age() != 0 || v.IsFresh(time.Hour) {
		t.Fatalf("nil: got expired %v, age %v, fresh %v; want true, 0, false", v.IsExpired(), v.Age(), v.IsFresh(time.Hour))
	}
}

func TestCachedValueLifetime(t *testing.T) {
	t0 := time.Unix(1000, 0)
	clk := clocktesting.NewFakePassiveClock(t0)
	for _, tc := range []struct {
		name        string
		v           CachedValue
		at          time.Duration // time after t0
		wantExpired bool
		wantFresh   bool // IsFresh(5s)
	}{
		{"within ExpiresAt", CachedValue{CachedAt: t0, ExpiresAt: t0.Add(10 * time.Second)}, 5 * time.Second, false, true},
		{"at ExpiresAt", CachedValue{CachedAt: t0, ExpiresAt: t0.Add(10 * time.Second)}, 10 * time.Second, true, false},
		{"ExpiresAt wins over TTL", CachedValue{CachedAt: t0, TTL: time.Hour, ExpiresAt: t0.Add(time.Second)}, 2 * time.Second, true, true},
		{"TTL alone, within", CachedValue{CachedAt: t0, TTL: 10 * time.Second}, 6 * time.Second, false, false},
		{"TTL alone, past", CachedValue{CachedAt: t0, TTL: 10 * time.Second}, 11 * time.Second, true, false},
		{"neither", CachedValue{CachedAt: t0}, 0, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := tc.v
			v.clock = clk
			clk.SetTime(t0.Add(tc.at))
			if got := v.IsExpired(); got != tc.wantExpired {
				t.Errorf("IsExpired: got %v, want %v", got, tc.wantExpired)
			}
			if got := v.IsFresh(5 * time.Second); got != tc.wantFresh {
				t.Errorf("IsFresh(5s): got %v, want %v", got, tc.wantFresh)
			}
			if got := v.Age(); got != tc.at {
				t.Errorf("Age: got %v, want %v", got, tc.at)
			}
		})
	}
}

// A literal without a clock reads the wall clock, as upstream's values do.
func TestCachedValueLiteralUsesWallClock(t *testing.T) {
	v := &CachedValue{CachedAt: time.Now().Add(-time.Hour), TTL: time.Minute}
	if !v.IsExpired() || v.IsFresh(time.Minute) || v.Age() < time.Hour {
		t.Fatalf("stored an hour ago with a 1m TTL: got expired %v fresh %v age %v", v.IsExpired(), v.IsFresh(time.Minute), v.Age())
	}
	v = &CachedValue{CachedAt: time.Now(), TTL: time.Hour}
	if v.IsExpired() || !v.IsFresh(time.Hour) {
		t.Fatalf("stored now with a 1h TTL: got expired %v fresh %v", v.IsExpired(), v.IsFresh(time.Hour))
	}
}
