package podscrapetest_test

import (
	"context"
	"testing"

	"github.com/podscrape/podscrape/podscrapetest"
)

// Simulated pods serve today's names by default and the previous generation's when asked.
func TestSimulatedPodsOfEachGeneration(t *testing.T) {
	for _, tc := range []struct {
		gen           podscrapetest.Generation
		present, gone []string
	}{
		{podscrapetest.Current,
			[]string{"vllm:prefix_cache_hits_total", "vllm:inter_token_latency_seconds_count", "llm_d_epp_flow_control_queue_size",
				"inference_extension_flow_control_queue_size", "llm_d_epp_scheduler_attempts_total", "sglang:token_usage"},
			[]string{"vllm:prefix_cache_hits", "vllm:time_per_output_token_seconds_count"}},
		{podscrapetest.Previous,
			[]string{"vllm:prefix_cache_hits", "vllm:time_per_output_token_seconds_count", "inference_extension_flow_control_queue_size"},
			[]string{"vllm:prefix_cache_hits_total", "llm_d_epp_flow_control_queue_size", "llm_d_epp_scheduler_attempts_total"}},
	} {
		t.Run(tc.gen.String(), func(t *testing.T) {
			ctx := context.Background()
			sim := podscrapetest.NewSimulation(podscrapetest.SimulationOptions{
				Seed: 1, EPPPods: []string{"epp-0"}, VLLMPods: []string{"vllm-0"}, SGLangPods: []string{"sglang-0"}, Generation: tc.gen,
			})
			for range 60 {
				sim.Step()
			}
			svc, err := env.NewService(ctx, podscrapetest.ServiceOptions{Name: "llm-d", PodNames: []string{"epp-0", "vllm-0", "sglang-0"}, Simulation: sim})
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = svc.Close() }()
			names := map[string]bool{}
			for _, v := range refresh(t, svc).Values {
				names[v.Labels["__name__"]] = true
			}
			for _, n := range tc.present {
				if !names[n] {
					t.Errorf("%s: not exposed", n)
				}
			}
			for _, n := range tc.gone {
				if names[n] {
					t.Errorf("%s: exposed, want it gone in this generation", n)
				}
			}
		})
	}
}
