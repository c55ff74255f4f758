package source

import (
	"context"
	"strconv"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"
)

// stubSource satisfies MetricsSource for registry tests, which touch nothing else.
type stubSource struct{ name string }

func (stubSource) QueryList() *QueryList { return NewQueryList() }
func (stubSource) Refresh(context.Context, RefreshSpec) (map[string]*MetricResult, error) {
	return nil, nil
}
func (stubSource) Get(string, map[string]string) *CachedValue { return nil }

// entries makes one CacheEntry per result, without params.
func entries(results ...*MetricResult) []CacheEntry {
	var es []CacheEntry
	for _, r := range results {
		es = append(es, CacheEntry{Result: r})
	}
	return es
}

func TestCacheTTLAndSnapshot(t *testing.T) {
	clk := clocktesting.NewFakePassiveClock(time.Unix(1000, 0))
	c := NewCache(clk)
	c.SetAll(entries(&MetricResult{QueryName: "a"}, &MetricResult{QueryName: "b"}), 10*time.Second)
	held := c.Get("a")
	if held == nil || held.Result.QueryName != "a" || held.Age() != 0 || held.TTL != 10*time.Second {
		t.Fatalf("Get(a): got %+v", held)
	}
	clk.SetTime(time.Unix(1005, 0))
	c.SetAll(entries(&MetricResult{QueryName: "b", Values: []MetricValue{{Value: 2}}}), 10*time.Second)
	if got := c.Get("b"); first(got) != 2 {
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

// first is the first value of a cached result; 0 on a miss.
func first(v *CachedValue) float64 {
	if v == nil {
		return 0
	}
	return v.Result.FirstValue().Value
}

func TestCacheNeverGoesBackwards(t *testing.T) {
	t0 := time.Unix(1000, 0)
	clk := clocktesting.NewFakePassiveClock(t0)
	for _, tc := range []struct {
		name          string
		first, second time.Time // CollectedAt of two results stored in turn
		want          float64   // the value served after both
		wantStored    int       // what the second SetAll reports
	}{
		{"newer replaces", t0, t0.Add(time.Second), 2, 1},
		{"equal replaces", t0, t0, 2, 1},
		{"older is skipped", t0.Add(time.Second), t0, 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := NewCache(clk)
			c.SetAll(entries(&MetricResult{QueryName: "q", CollectedAt: tc.first, Values: []MetricValue{{Value: 1}}}), time.Minute)
			stored := c.SetAll(entries(&MetricResult{QueryName: "q", CollectedAt: tc.second, Values: []MetricValue{{Value: 2}}}), time.Minute)
			if got := first(c.Get("q")); got != tc.want || stored != tc.wantStored {
				t.Fatalf("got value %v stored %d, want %v stored %d", got, stored, tc.want, tc.wantStored)
			}
		})
	}
	t.Run("older skipped, newer beside it stored", func(t *testing.T) {
		c := NewCache(clk)
		c.SetAll(entries(&MetricResult{QueryName: "a", CollectedAt: t0.Add(time.Second)}), time.Minute)
		stored := c.SetAll(entries(&MetricResult{QueryName: "a", CollectedAt: t0}, &MetricResult{QueryName: "b", CollectedAt: t0}), time.Minute)
		if stored != 1 || c.Get("a").Result.CollectedAt != t0.Add(time.Second) || c.Get("b") == nil {
			t.Fatalf("stored %d, a %+v, b %+v: want 1, a collected at 1001, b present", stored, c.Get("a"), c.Get("b"))
		}
	})
}

func TestCacheKeysByNameAndParams(t *testing.T) {
	clk := clocktesting.NewFakePassiveClock(time.Unix(1000, 0))
	c := NewCache(clk)
	llama := map[string]string{"modelID": "llama", "namespace": "llm-d"}
	qwen := map[string]string{"modelID": "qwen", "namespace": "llm-d"}
	c.SetAll([]CacheEntry{
		{Result: &MetricResult{QueryName: "kv", Values: []MetricValue{{Value: 1}}}, Params: llama},
		{Result: &MetricResult{QueryName: "kv", Values: []MetricValue{{Value: 2}}}, Params: qwen},
		{Result: &MetricResult{QueryName: "kv", Values: []MetricValue{{Value: 3}}}},
	}, time.Minute)
	llama["modelID"] = "changed by the caller"
	for _, tc := range []struct {
		params map[string]string
		want   float64
	}{
		{map[string]string{"namespace": "llm-d", "modelID": "llama"}, 1},
		{qwen, 2},
		{nil, 3},
	} {
		got := c.Get(BuildCacheKey("kv", tc.params))
		if first(got) != tc.want {
			t.Errorf("Get(kv, %v): got %+v, want value %v", tc.params, got, tc.want)
			continue
		}
		if len(tc.params) > 0 && got.Params["modelID"] != tc.params["modelID"] {
			t.Errorf("Get(kv, %v).Params: got %v, want the params it was stored with", tc.params, got.Params)
		}
	}
	if c.Get(BuildCacheKey("kv", map[string]string{"modelID": "llama"})) != nil {
		t.Error("Get with a subset of the params: want a miss")
	}
}

func TestBuildCacheKey(t *testing.T) {
	for _, tc := range []struct {
		params map[string]string
		want   CacheKey
	}{
		{nil, "q"},
		{map[string]string{}, "q"},
		{map[string]string{"b": "2", "a": "1"}, "q:a=1,b=2"},
	} {
		if got := BuildCacheKey("q", tc.params); got != tc.want {
			t.Errorf("BuildCacheKey(q, %v): got %q, want %q", tc.params, got, tc.want)
		}
	}
}

// TestCacheStaysBoundedUnderDistinctParams: a client asking with new params every second
// for a day (a dashboard's changing variable, a controller per pod name). The cache
// holds the entries of the last TTL and remembers the keys of the last TTL plus the
// longest TTL, never the day's 86,400.
func TestCacheStaysBoundedUnderDistinctParams(t *testing.T) {
	clk := clocktesting.NewFakeClock(time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC))
	c := NewCache(clk)
	const ttl = 30 * time.Second
	for i := range 86400 {
		r := &MetricResult{QueryName: "q", CollectedAt: clk.Now(), Values: []MetricValue{{Value: 1}}}
		c.SetAll([]CacheEntry{{Result: r, Params: map[string]string{"model": strconv.Itoa(i)}}}, ttl)
		clk.Step(time.Second)
	}
	c.mu.Lock()
	held, remembered := len(*c.snap.Load()), len(c.newest)
	c.mu.Unlock()
	if held > 31 || remembered > 61 {
		t.Errorf("after a day of distinct params: %d entries held, %d keys remembered; want at most 31 and 61", held, remembered)
	}
}
