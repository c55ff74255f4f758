package pod_test

import (
	"context"
	"fmt"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	"github.com/podscrape/podscrape/podscrapetest"
	"github.com/podscrape/podscrape/source"
	"github.com/podscrape/podscrape/source/llmd"
	"github.com/podscrape/podscrape/source/pod"
)

// PromQL on pods, with no Prometheus server: the autoscaler's queries, unchanged,
// answered from the source's own scrapes. A fake clock stands in for the 15 s between
// refreshes (a real source sets ScrapeInterval and runs Start, or refreshes that often).
func Example_promQL() {
	ctx := context.Background()
	env, err := podscrapetest.Start(podscrapetest.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer env.Stop()
	svc, err := env.NewService(ctx, podscrapetest.ServiceOptions{Name: "vllm", Pods: 2})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer svc.Close()
	expose := func(waiting, success int) {
		for i, p := range svc.Pods() {
			p.SetBody(fmt.Sprintf("# TYPE vllm:num_requests_waiting gauge\n"+
				"vllm:num_requests_waiting{model_name=\"m\"} %d\n"+
				"# TYPE vllm:request_success counter\n"+
				"vllm:request_success_total{model_name=\"m\",finish_reason=\"stop\"} %d\n", waiting+i, success*(i+1)))
		}
	}

	clk := clocktesting.NewFakeClock(time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC))
	src, err := pod.NewPodScrapingSource(ctx, env.Client, pod.PodScrapingSourceConfig{
		ServiceName: svc.Name, ServiceNamespace: svc.Namespace, MetricsPort: svc.Port, Clock: clk,
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
	spec := source.RefreshSpec{
		Queries: []string{llmd.QueueLength, llmd.ModelRequestCount},
		Params:  map[string]string{source.ParamNamespace: svc.Namespace, source.ParamModelID: "m", llmd.ParamRetentionPeriod: "1m"},
	}
	for step := range 5 {
		expose(step, 15*step) // each pod finishes 15 (and 30) requests per 15 s
		results, err := src.Refresh(ctx, spec)
		if err != nil {
			fmt.Println(err)
			return
		}
		if step < 4 {
			clk.Step(15 * time.Second)
			continue
		}
		for _, v := range results[llmd.QueueLength].Values {
			fmt.Printf("queue_length %s: %g\n", v.Labels["pod"], v.Value)
		}
		fmt.Printf("model_request_count: %g\n", results[llmd.ModelRequestCount].FirstValue().Value)
	}
	// Output:
	// queue_length vllm-0: 4
	// queue_length vllm-1: 5
	// model_request_count: 180
}
