package source

import (
	"errors"
	"fmt"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"
)

// The cache moves only to answers: a failed result (an Error, no Values) leaves the last
// good value served until its TTL; a partial answer (an Error and Values) replaces it.
func TestCacheKeepsLastAnswerOverAFailure(t *testing.T) {
	t0 := time.Unix(1000, 0)
	clk := clocktesting.NewFakePassiveClock(t0)
	c := NewCache(clk)
	good := &MetricResult{QueryName: "q", CollectedAt: t0, Values: []MetricValue{{Value: 1}}}
	c.SetAll([]CacheEntry{{Result: good, Params: map[string]string{"a": "1"}}}, 30*time.Second)
	key := BuildCacheKey("q", map[string]string{"a": "1"})

	clk.SetTime(t0.Add(10 * time.Second))
	failed := &MetricResult{QueryName: "q", CollectedAt: clk.Now(), Error: errors.New("many-to-many matching not allowed")}
	if n := c.SetAll([]CacheEntry{{Result: failed, Params: map[string]string{"a": "1"}}}, 30*time.Second); n != 0 {
		t.Errorf("SetAll of a failed result: stored %d, want 0", n)
	}
	if got := c.Get(key); got == nil || got.Result.Error != nil || got.Result.CollectedAt != t0 {
		t.Fatalf("Get after a failed result: got %+v, want the good value of %s", got, t0)
	}
	// A failure with nothing cached caches nothing either.
	if n := c.SetAll(entries(&MetricResult{QueryName: "other", Error: errors.New("boom")}), time.Minute); n != 0 || c.Get("other") != nil {
		t.Errorf("a failed result under an empty key: stored %d, want 0 and a miss", n)
	}

	partial := &MetricResult{QueryName: "q", CollectedAt: clk.Now(), Values: []MetricValue{{Value: 2}}, Error: errors.New("pod b down")}
	if n := c.SetAll([]CacheEntry{{Result: partial, Params: map[string]string{"a": "1"}}}, 30*time.Second); n != 1 {
		t.Errorf("SetAll of a partial answer: stored %d, want 1", n)
	}
	if got := c.Get(key); got == nil || got.Result.Values[0].Value != 2 {
		t.Fatalf("Get after a partial answer: got %+v, want it", got)
	}

	// The good value still expires by its TTL: past it, a failure leaves a miss.
	c2 := NewCache(clk)
	c2.SetAll(entries(good), 30*time.Second)
	clk.SetTime(clk.Now().Add(time.Minute))
	c2.SetAll(entries(&MetricResult{QueryName: "q", CollectedAt: clk.Now(), Error: errors.New("boom")}), 30*time.Second)
	if got := c2.Get("q"); got != nil {
		t.Errorf("Get past the good value's TTL: got %+v, want nil", got)
	}
}

// Params whose keys or values hold the key's separators never collide.
func TestBuildCacheKeyDistinct(t *testing.T) {
	type call struct {
		name   string
		params map[string]string
	}
	calls := []call{
		{"q", map[string]string{"a": "1,b=2"}},
		{"q", map[string]string{"a": "1", "b": "2"}},
		{"q", map[string]string{"a=1,b": "2"}},
		{"q", map[string]string{"a": "1=", "b": "2"}},
		{"q", map[string]string{"a": `1\`, "b": "2"}},
		{"q", map[string]string{"a": `1\,b=2`}},
		{"q:a=1", nil},
		{"q:a=1,b=2", nil},
		{"q", map[string]string{"a": "1"}},
		{"q:a", map[string]string{"b": "c"}},
		{"q", map[string]string{"a:b": "c"}},
		{"q", map[string]string{"a": "b:c=d"}},
		{"q", map[string]string{"": ""}},
		{"q", nil},
	}
	seen := map[CacheKey]call{}
	for _, c := range calls {
		k := BuildCacheKey(c.name, c.params)
		if prev, ok := seen[k]; ok {
			t.Errorf("BuildCacheKey(%q, %v) = BuildCacheKey(%q, %v) = %q", c.name, c.params, prev.name, prev.params, k)
		}
		seen[k] = c
	}
	// Plain names and params keep their readable form.
	for _, tc := range []struct {
		name   string
		params map[string]string
		want   CacheKey
	}{
		{"vllm:kv", nil, "vllm:kv"},
		{"q", map[string]string{"b": "2", "a": "1"}, "q:a=1,b=2"},
		{"q", map[string]string{"podFilter": "a,b"}, `q:podFilter=a\,b`},
	} {
		if got := BuildCacheKey(tc.name, tc.params); got != tc.want {
			t.Errorf("BuildCacheKey(%q, %v): got %q, want %q", tc.name, tc.params, got, tc.want)
		}
	}
}

// A pod whose scrape failed in the refresh behind a result is down, even when the result
// holds values for it (a PromQL window still reaching its last samples).
func TestPodValuesOfFailedPodWithValues(t *testing.T) {
	down := &testPodError{pod: "b", reason: "timeout"}
	r := &MetricResult{
		Values: []MetricValue{sample("queue", "a", 3), sample("queue", "b", 5)},
		Error:  fmt.Errorf("query %q: %w", "q", errors.Join(down)),
	}
	values, err := r.PodValues("b", "queue")
	if !errors.Is(err, ErrPodDown) || !errors.Is(err, down) || values != nil {
		t.Fatalf("PodValues(b) of a failed pod with values: got %v, %v; want no values and ErrPodDown wrapping its error", values, err)
	}
	if values, err := r.PodValues("a", "queue"); err != nil || len(values) != 1 || values[0].Value != 3 {
		t.Fatalf("PodValues(a): got %v, %v; want [3], nil", values, err)
	}
	st := r.PodStatuses()
	if len(st) != 1 || st[0].Pod != "b" || st[0].Up || st[0].Reason != "timeout" {
		t.Fatalf("PodStatuses: got %+v, want b down (timeout)", st)
	}
}
