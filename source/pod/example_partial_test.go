package pod_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	"github.com/podscrape/podscrape/podscrapetest"
	"github.com/podscrape/podscrape/source"
	"github.com/podscrape/podscrape/source/llmd"
	"github.com/podscrape/podscrape/source/pod"
)

// How an autoscaler reads a window the history does not cover yet: right after start,
// increase() over the retention period adds up only what the history holds, so the
// result's Error wraps ErrPartialWindow, its values a lower bound. Hold a scale-to-zero
// until the error goes; a rate over a shorter span is only a warning.
func ExamplePartialWindowError() {
	ctx := context.Background()
	env, err := podscrapetest.Start(podscrapetest.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer env.Stop()
	svc, err := env.NewService(ctx, podscrapetest.ServiceOptions{Name: "vllm", Pods: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer svc.Close()

	clk := clocktesting.NewFakeClock(time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC))
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
		Queries: []string{llmd.ModelRequestCount},
		Params:  map[string]string{source.ParamNamespace: svc.Namespace, source.ParamModelID: "m", llmd.ParamRetentionPeriod: "2m"},
	}
	for step := range 9 { // a refresh every 15 s for 2 minutes
		svc.Pods()[0].SetBody(fmt.Sprintf("# TYPE vllm:request_success counter\n"+
			"vllm:request_success_total{model_name=\"m\",finish_reason=\"stop\"} %d\n", 10*step))
		results, err := src.Refresh(ctx, spec)
		if err != nil {
			fmt.Println(err)
			return
		}
		r := results[llmd.ModelRequestCount]
		var partial *pod.PartialWindowError
		switch {
		case errors.As(r.Error, &partial):
			if step%4 == 0 {
				fmt.Printf("%s of %s held: at least %g requests; hold any scale-to-zero\n", partial.Held, partial.Window, r.FirstValue().Value)
			}
		case r.Error != nil:
			fmt.Println("no answer:", r.Error)
		case step == 8:
			// From 1m45s, the window reaches less than 1.1 scrape spacings before
			// the first scrape: covered, as Prometheus extrapolates over it.
			fmt.Printf("window covered: %g requests\n", r.FirstValue().Value)
		}
		clk.Step(15 * time.Second)
	}
	// Output:
	// 0s of 2m0s held: at least 0 requests; hold any scale-to-zero
	// 1m0s of 2m0s held: at least 40 requests; hold any scale-to-zero
	// window covered: 80 requests
}
