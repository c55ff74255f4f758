package source

import (
	"context"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"
)

// stubSource satisfies MetricsSource for registry tests, which touch nothing else.
type stubSource struct{}

func (stubSource) QueryList() *QueryList { return NewQueryList() }
func (stubSource) Refresh(context.Context, RefreshSpec) (map[string]*MetricResult, error) {
	return nil, nil
}
func (stubSource) Get(string, map[string]string) *CachedValue { return nil }

func TestCacheTTLAndSnapshot(t *testing.T) {
	clk := clocktesting.NewFakePassiveClock(time.Unix(1000, 0))
	c := NewCache(clk)
	c.SetAll(map[string]*MetricResult{"a": {QueryName: "a"}, "b": {QueryName: "b"}}, 10*time.Second)
	held := c.Get("a")
	if held == nil || held.Result.QueryName != "a" || held.Age() != 0 {
		t.Fatalf("Get(a): got %+v", held)
	}
	clk.SetTime(time.Unix(1005, 0))
	c.SetAll(map[string]*MetricResult{"b": {QueryName: "b2"}}, 10*time.Second)
	if got := c.Get("b"); got == nil || got.Result.QueryName != "b2" {
		t.Fatalf("Get(b) after overwrite: got %+v", got)
	}
	if held.Result.QueryName != "a" || held.Age() != 5*time.Second {
		t.Fatalf("a value held by a reader changed: %+v", held)
	}
	clk.SetTime(time.Unix(1010, 0))
	if c.Get("a") != nil || !held.IsExpired() {
		t.Fatal("a at its TTL: want expired and no longer served")
	}
	if c.Get("b") == nil {
		t.Fatal("b, refreshed at 1005: want it served until 1015")
	}
}

func TestCacheKey(t *testing.T) {
	for _, tc := range []struct {
		params map[string]string
		want   string
	}{
		{nil, "q"},
		{map[string]string{"b": "2", "a": "1"}, "q:a=1,b=2"},
	} {
		if got := CacheKey("q", tc.params); got != tc.want {
			t.Errorf("CacheKey(q, %v): got %q, want %q", tc.params, got, tc.want)
		}
	}
}
