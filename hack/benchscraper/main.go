// Command benchscraper is the scraper of BenchmarkVersusPrometheus (test/e2e): a
// PodScrapingSource with the workload-variant-autoscaler's vLLM queries and its scrape
// loop, alone in a small binary of its own, so its CPU and memory are measured as the
// Prometheus server's are. It prints "ready" once its first scrape is stored and runs
// until its stdin closes.
//
//	benchscraper -kubeconfig FILE -namespace NS -service SVC -port PORT -interval 1s
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/podscrape/podscrape/source"
	"github.com/podscrape/podscrape/source/llmd"
	"github.com/podscrape/podscrape/source/pod"
)

func main() {
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig of the cluster")
	namespace := flag.String("namespace", "", "the Service's namespace")
	service := flag.String("service", "", "the Service")
	port := flag.Int("port", 0, "the pods' metrics port")
	interval := flag.Duration("interval", time.Second, "scrape interval")
	concurrency := flag.Int("concurrency", 0, "MaxConcurrentScrapes (0: the default)")
	flag.Parse()
	if err := run(*kubeconfig, *namespace, *service, int32(*port), *interval, *concurrency); err != nil {
		fmt.Fprintln(os.Stderr, "benchscraper:", err)
		os.Exit(1)
	}
}

func run(kubeconfig, namespace, service string, port int32, interval time.Duration, concurrency int) error {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return err
	}
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	src, err := pod.NewPodScrapingSource(ctx, c, pod.PodScrapingSourceConfig{
		ServiceName: service, ServiceNamespace: namespace, MetricsPort: port,
		MaxConcurrentScrapes: concurrency, ScrapeInterval: interval,
	})
	if err != nil {
		return err
	}
	defer src.Close()
	if err := llmd.Register(src.QueryList(), llmd.VLLMQueries()); err != nil {
		return err
	}
	if _, err := src.Refresh(ctx, source.RefreshSpec{Queries: []string{llmd.QueueLength},
		Params: map[string]string{source.ParamNamespace: namespace, source.ParamModelID: "m"}}); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- src.Start(ctx) }()
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, os.Stdin)
	cancel()
	return <-done
}
