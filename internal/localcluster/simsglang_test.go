package localcluster_test

import (
	"math"
	"slices"
	"testing"

	dto "github.com/prometheus/client_model/go"

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

// streamSplit are the families current SGLang labels with is_streaming
// (TokenizerMetricsCollector at 016d8605e458, after sgl-project/sglang #32363 and #32734).
var streamSplit = []string{
	"sglang:time_to_first_token_seconds", "sglang:e2e_request_latency_seconds",
	"sglang:num_requests_total", "sglang:prompt_tokens_total", "sglang:generation_tokens_total",
}

// The simulated current SGLang splits those families by is_streaming, both values
// present and both taking requests, and no other family; the split partitions the same
// requests the previous SGLang, which has no is_streaming, counts as one series.
func TestSimulatedSGLangSplitsByStreaming(t *testing.T) {
	const steps = 120
	current := parse(t, "current sglang-0", newSGLangSim(localcluster.Current, steps).Exposition("sglang-0"))
	previous := parse(t, "previous sglang-0", newSGLangSim(localcluster.Previous, steps).Exposition("sglang-0"))
	for name, f := range current {
		split := slices.Contains(streamSplit, name)
		seen := map[string]float64{}
		for _, m := range f.Metric {
			for _, l := range m.Label {
				if l.GetName() == "is_streaming" {
					seen[l.GetValue()] += sampleValue(m)
				}
			}
		}
		if !split {
			if len(seen) > 0 {
				t.Errorf("%s: labelled is_streaming, which current SGLang does not put on it", name)
			}
			continue
		}
		if len(f.Metric) != 2 || seen["true"] == 0 || seen["false"] == 0 {
			t.Errorf("%s: got %d series, by is_streaming %v; want one per value, each with requests", name, len(f.Metric), seen)
			continue
		}
		want := sampleValue(previous[name].Metric[0])
		if got := seen["true"] + seen["false"]; math.Abs(got-want) > 1e-9*want {
			t.Errorf("%s: is_streaming series sum to %g, want the previous SGLang's %g", name, got, want)
		}
	}
	for name, f := range previous {
		for _, m := range f.Metric {
			for _, l := range m.Label {
				if l.GetName() == "is_streaming" {
					t.Errorf("previous %s: labelled is_streaming, which SGLang added in 2026-07", name)
				}
			}
		}
	}
}

// sampleValue is a counter's value or a histogram's count plus its sum, so equal values
// mean equal counts and sums.
func sampleValue(m *dto.Metric) float64 {
	if h := m.GetHistogram(); h != nil {
		return float64(h.GetSampleCount()) + h.GetSampleSum()
	}
	return m.GetCounter().GetValue() + m.GetGauge().GetValue()
}

// The simulated SGLang labels its series as SGLang does: the scheduler's
// (SchedulerMetricsCollector) with model_name, engine_type, tp_rank, pp_rank and
// moe_ep_rank (metrics_collector.py at 016d8605e458, SchedulerMetricsCollector.init_new;
// moe_ep_rank long before the previous generation), the tokenizer's with model_name and,
// since sgl-project/sglang #23978 (2026-04-29), engine_type, plus each family's own
// (is_streaming, cache_source).
func TestSimulatedSGLangLabelsAsSGLang(t *testing.T) {
	scheduler := []string{"engine_type", "model_name", "moe_ep_rank", "pp_rank", "tp_rank"}
	for _, tc := range []struct {
		gen       localcluster.Generation
		tokenizer []string
	}{
		{localcluster.Current, []string{"engine_type", "model_name"}},
		{localcluster.Previous, []string{"model_name"}},
	} {
		f := parse(t, "sglang-0", newSGLangSim(tc.gen, 60).Exposition("sglang-0"))
		for name, fam := range f {
			var want []string
			switch name {
			case "sglang:num_running_reqs", "sglang:num_used_tokens", "sglang:token_usage", "sglang:gen_throughput",
				"sglang:num_queue_reqs", "sglang:cache_hit_rate", "sglang:max_total_num_tokens":
				want = scheduler
			case "sglang:cached_tokens_total":
				want = append(slices.Clone(tc.tokenizer), "cache_source")
			default:
				want = slices.Clone(tc.tokenizer)
				if tc.gen == localcluster.Current && slices.Contains(streamSplit, name) {
					want = append(want, "is_streaming")
				}
			}
			slices.Sort(want)
			if got := labelNames(fam); !slices.Equal(got, want) {
				t.Errorf("%s %s: got label names %v, want %v", tc.gen, name, got, want)
			}
		}
	}
}
