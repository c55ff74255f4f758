package history

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
)

// perPodHoldsBytes returns the bytes allocated by one Holds of a pod's series under a
// regular expression on the model, averaged over one call per pod of the first half of
// pods vLLM pods' history: what serve's and the pod source's check of each pod not
// Ready costs, once per pod per query.
func perPodHoldsBytes(t *testing.T, pods int) float64 {
	h := newHistory(t, Options{})
	fillHistory(t, h, pods, 0, 2, 15*time.Second)
	model := labels.MustNewMatcher(labels.MatchRegexp, "model_name", "m|n")
	sels := make([][]*labels.Matcher, pods/2)
	for p := range sels {
		sels[p] = []*labels.Matcher{model, labels.MustNewMatcher(labels.MatchEqual, "pod", fmt.Sprintf("vllm-%d", p))}
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for _, ms := range sels {
		if !h.Holds(ms) {
			t.Fatalf("%v: not held", ms)
		}
	}
	runtime.ReadMemStats(&after)
	return float64(after.TotalAlloc-before.TotalAlloc) / float64(len(sels))
}

// TestPerPodHoldsCostIndependentOfPods: asking whether the history holds one pod's
// series matching a selector with a regular expression (model_name=~"m|n", as a Grafana
// variable writes it) costs what the pod's series take, whatever the number of pods.
// It gathered every series the regular expression matches, the model's on every pod,
// for each pod asked: serve asks once per pod not Ready for each query, so a query
// while 1,000 of 2,000 pods were not Ready took 300 ms and allocated 200 MB, 100 times
// what it did at 200 pods.
func TestPerPodHoldsCostIndependentOfPods(t *testing.T) {
	small, large := perPodHoldsBytes(t, 200), perPodHoldsBytes(t, 2000)
	t.Logf("bytes allocated per Holds: %.0f at 200 pods, %.0f at 2,000", small, large)
	if large > 2*small+1024 {
		t.Errorf("a Holds of one pod's series allocates %.0f bytes at 2,000 pods, %.0f at 200: it grows with the pods", large, small)
	}
}
