package podscrapetest_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/podscrape/podscrape/podscrapetest"
	"github.com/podscrape/podscrape/source"
	"github.com/podscrape/podscrape/source/pod"
)

// A test of code that scrapes pods: two pods behind a Service on a real API server, one
// of which starts failing.
func Example() {
	ctx := context.Background()
	env, err := podscrapetest.Start(podscrapetest.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer env.Stop()

	svc, err := env.NewService(ctx, podscrapetest.ServiceOptions{
		Name: "vllm",
		Pods: 2,
		Body: "# TYPE vllm:num_requests_waiting gauge\nvllm:num_requests_waiting 3\n",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer svc.Close()

	// The code under test: a PodScrapingSource reading through the environment's client.
	src, err := pod.NewPodScrapingSource(ctx, env.Client, pod.PodScrapingSourceConfig{
		ServiceName: svc.Name, ServiceNamespace: svc.Namespace, MetricsPort: svc.Port,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer src.Close()

	show := func() {
		results, err := src.Refresh(ctx, source.RefreshSpec{})
		if err != nil {
			fmt.Println(err)
			return
		}
		result := results[pod.AllMetricsQuery]
		for _, p := range svc.Pods() {
			values, err := result.PodValues(p.Name, "vllm:num_requests_waiting")
			switch {
			case errors.Is(err, source.ErrPodDown):
				fmt.Printf("%s: down\n", p.Name)
			case err != nil:
				fmt.Printf("%s: %v\n", p.Name, err)
			default:
				fmt.Printf("%s: waiting %g\n", p.Name, values[0].Value)
			}
		}
	}
	show()

	svc.Pod("vllm-1").SetHandler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "overloaded", http.StatusServiceUnavailable)
	}))
	show()
	// Output:
	// vllm-0: waiting 3
	// vllm-1: waiting 3
	// vllm-0: waiting 3
	// vllm-1: down
}
