// Command with builds a PodScrapingSource on a controller-runtime client and runs a PromQL
// query, so every part of podscrape a controller links is linked.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/podscrape/podscrape/source"
	"github.com/podscrape/podscrape/source/pod"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

func main() {
	cfg, err := ctrl.GetConfig()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ctx := context.Background()
	s, err := pod.NewPodScrapingSource(ctx, c, pod.PodScrapingSourceConfig{ServiceName: "vllm", ServiceNamespace: "ns", MetricsPort: 8000})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	s.QueryList().MustRegister(source.QueryTemplate{Name: "q", Type: source.QueryTypePromQL, Template: `sum(rate(x[5m]))`})
	res, err := s.Refresh(ctx, source.RefreshSpec{})
	fmt.Println(res, err)
}
