package localcluster_test

import (
	"math"
	"slices"
	"testing"

	"github.com/podscrape/podscrape/internal/localcluster"
)

// newSGLangSim returns a simulation of one SGLang pod behind one EPP after steps steps.
func newSGLangSim(gen localcluster.Generation, steps int) *localcluster.Simulation {
	s := localcluster.NewSimulation(localcluster.SimulationOptions{
		Seed: 5, EPPPods: []string{"epp-0"}, SGLangPods: []string{"sglang-0"}, Generation: gen,
	})
	for range steps {
		s.Step()
	}
	return s
}

// The simulated SGLang's histograms have SGLang's default bounds, its
// TokenizerMetricsCollector's (python/sglang/srt/observability/metrics_collector.py at
// 016d8605e458; no SGLang exposition was captured), not the vLLM ones: a quantile a
// consumer reads from them is SGLang's. The token histograms share one default list.
func TestSimulatedSGLangHasSGLangBuckets(t *testing.T) {
	tokens := []float64{100, 300, 500, 700, 1000, 1500, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000, 10000,
		12500, 15000, 17500, 20000, 22500, 25000, 27500, 30000, 35000, 40000, 60000, 80000, 100000,
		200000, 300000, 400000, 600000, 800000, 1000000, 1100000}
	want := map[string][]float64{
		"sglang:time_to_first_token_seconds": {0.1, 0.2, 0.4, 0.6, 0.8, 1, 2, 4, 6, 8, 10, 20, 40, 60, 80, 100, 200, 400},
		"sglang:inter_token_latency_seconds": {0.002, 0.004, 0.006, 0.008, 0.01, 0.015, 0.02, 0.025, 0.03, 0.035, 0.04,
			0.06, 0.08, 0.1, 0.2, 0.4, 0.6, 0.8, 1, 2, 4, 6, 8},
		"sglang:e2e_request_latency_seconds": {0.1, 0.2, 0.4, 0.6, 0.8, 1, 2, 4, 6, 8, 10, 20, 40, 60, 80, 100, 200,
			400, 600, 1200, 1800, 2400},
		"sglang:prompt_tokens_histogram":     tokens,
		"sglang:generation_tokens_histogram": tokens,
	}
	sim := parse(t, "sglang-0", newSGLangSim(localcluster.Current, 30).Exposition("sglang-0"))
	for name, bounds := range want {
		f := sim[name]
		if f == nil {
			t.Errorf("%s: not exposed", name)
			continue
		}
		bounds = append(slices.Clone(bounds), math.Inf(1))
		for _, m := range f.Metric {
			if got := bucketBounds(m); !slices.Equal(got, bounds) {
				t.Errorf("%s: got le %v, want %v", name, got, bounds)
				break
			}
		}
	}
}
