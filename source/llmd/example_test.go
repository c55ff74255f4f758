package llmd_test

import (
	"context"
	"fmt"
	"slices"

	"github.com/podscrape/podscrape/podscrapetest"
	"github.com/podscrape/podscrape/source"
	"github.com/podscrape/podscrape/source/llmd"
	"github.com/podscrape/podscrape/source/pod"
)

// The autoscaler's queries on vLLM pods of two variants, scraped directly: PodLabels
// gives each series the llm_d_ai_variant the queries group by, and instance.
func Example() {
	ctx := context.Background()
	env, err := podscrapetest.Start(podscrapetest.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer env.Stop()
	// Simulated vLLM pods, as today's vLLM exposes its metrics, under load.
	sim := podscrapetest.NewSimulation(podscrapetest.SimulationOptions{
		Seed: 1, EPPPods: []string{"epp-0"}, VLLMPods: []string{"vllm-0", "vllm-1"},
	})
	for range 60 {
		sim.Step()
	}
	svc, err := env.NewService(ctx, podscrapetest.ServiceOptions{
		Name: "vllm", PodNames: []string{"vllm-0", "vllm-1"}, Simulation: sim,
		PodLabels: map[string]map[string]string{
			"vllm-0": {llmd.VariantLabel: "qwen3-l4"},
			"vllm-1": {llmd.VariantLabel: "qwen3-h100"},
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer svc.Close()

	src, err := pod.NewPodScrapingSource(ctx, env.Client, pod.PodScrapingSourceConfig{
		ServiceName: svc.Name, ServiceNamespace: svc.Namespace, MetricsPort: svc.Port,
		PodLabels: llmd.PodLabels(), // llm-d.ai/variant, as llm_d_ai_variant
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer src.Close()
	if err := llmd.Register(src.QueryList(), llmd.VLLMQueries()); err != nil {
		fmt.Println(err)
		return
	}
	results, err := src.Refresh(ctx, source.RefreshSpec{
		Queries: []string{llmd.KVUsageInstant, llmd.CacheConfigInfo},
		Params:  map[string]string{source.ParamNamespace: svc.Namespace, source.ParamModelID: "Qwen/Qwen3-0.6B"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	var lines []string
	for _, v := range results[llmd.KVUsageInstant].Values {
		lines = append(lines, fmt.Sprintf("kv_usage_instant %s %s: %.4f", v.Labels["pod"], v.Labels["llm_d_ai_variant"], v.Value))
	}
	for _, v := range results[llmd.CacheConfigInfo].Values {
		lines = append(lines, fmt.Sprintf("cache_config_info %s: %s blocks of %s tokens",
			v.Labels["pod"], v.Labels["num_gpu_blocks"], v.Labels["block_size"]))
	}
	slices.Sort(lines)
	for _, l := range lines {
		fmt.Println(l)
	}
	// Output:
	// cache_config_info vllm-0: 512 blocks of 16 tokens
	// cache_config_info vllm-1: 512 blocks of 16 tokens
	// kv_usage_instant vllm-0 qwen3-l4: 0.4434
	// kv_usage_instant vllm-1 qwen3-h100: 0.3887
}
