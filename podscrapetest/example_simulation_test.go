package podscrapetest_test

import (
	"context"
	"fmt"

	"github.com/podscrape/podscrape/podscrapetest"
	"github.com/podscrape/podscrape/source"
	"github.com/podscrape/podscrape/source/pod"
)

// Simulated llm-d pods: a vLLM pod exposes today's names by default, and the previous
// generation's when asked, so code reading them can test its fallback.
func ExampleSimulation() {
	ctx := context.Background()
	env, err := podscrapetest.Start(podscrapetest.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer env.Stop()
	for _, gen := range []podscrapetest.Generation{podscrapetest.Current, podscrapetest.Previous} {
		sim := podscrapetest.NewSimulation(podscrapetest.SimulationOptions{
			Seed: 1, EPPPods: []string{"epp-0"}, VLLMPods: []string{"vllm-0"}, Generation: gen,
		})
		for range 30 {
			sim.Step()
		}
		svc, err := env.NewService(ctx, podscrapetest.ServiceOptions{Name: "vllm", PodNames: []string{"vllm-0"}, Simulation: sim})
		if err != nil {
			fmt.Println(err)
			return
		}
		src, err := pod.NewPodScrapingSource(ctx, env.Client, pod.PodScrapingSourceConfig{
			ServiceName: svc.Name, ServiceNamespace: svc.Namespace, MetricsPort: svc.Port,
		})
		if err != nil {
			fmt.Println(err)
			return
		}
		results, err := src.Refresh(ctx, source.RefreshSpec{})
		if err != nil {
			fmt.Println(err)
			return
		}
		has := map[string]bool{}
		for _, v := range results[pod.AllMetricsQuery].Values {
			has[v.Labels["__name__"]] = true
		}
		fmt.Printf("%s: vllm:prefix_cache_hits_total %t, vllm:prefix_cache_hits %t\n",
			gen, has["vllm:prefix_cache_hits_total"], has["vllm:prefix_cache_hits"])
		src.Close()
		_ = svc.Close()
	}
	// Output:
	// current: vllm:prefix_cache_hits_total true, vllm:prefix_cache_hits false
	// previous: vllm:prefix_cache_hits_total false, vllm:prefix_cache_hits true
}
