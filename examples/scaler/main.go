// Command scaler is an example program a user can copy: it builds a client from a
// kubeconfig, scrapes the Ready pods behind a Service with podscrape, and prints, per
// pod, a metric's value or why there is none, on a loop that reads the cache (Get) and
// refreshes when it has expired (Refresh). A refresh that fails (every pod down, the
// Service gone) ends a single run with status 1; a loop prints it and goes on.
//
// It defines its own -kubeconfig flag on the standard flag set: a program importing
// source/pod may, since that package registers no flag.
//
//	go run ./examples/scaler -kubeconfig ~/.kube/config -namespace llm-d -service vllm \
//	    -port 8000 -metric vllm:num_requests_waiting -interval 5s
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/podscrape/podscrape/source"
	"github.com/podscrape/podscrape/source/pod"
)

func main() {
	kubeconfig := flag.String("kubeconfig", "", "path to a kubeconfig; empty: $KUBECONFIG, ~/.kube/config, or in-cluster")
	namespace := flag.String("namespace", "default", "namespace of the Service")
	service := flag.String("service", "", "the Service whose Ready pods are scraped (required)")
	port := flag.Int("port", 9090, "the pods' metrics port")
	metric := flag.String("metric", "up", "the metric to print per pod")
	interval := flag.Duration("interval", 0, "run the loop at this interval until interrupted; 0: once")
	flag.Parse()
	if *service == "" {
		fmt.Fprintln(os.Stderr, "scaler: -service is required")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Stdout, os.Stderr, *kubeconfig, *namespace, *service, int32(*port), *metric, *interval); err != nil {
		fmt.Fprintln(os.Stderr, "scaler:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out, errOut io.Writer, kubeconfig, namespace, service string, port int32, metric string, interval time.Duration) error {
	// The loading rules kubectl uses: the -kubeconfig file when given, else $KUBECONFIG or
	// ~/.kube/config, else the in-cluster config.
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = kubeconfig
	restConfig, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return fmt.Errorf("load kubeconfig: %w", err)
	}
	k8sClient, err := client.New(restConfig, client.Options{})
	if err != nil {
		return fmt.Errorf("client for %s: %w", restConfig.Host, err)
	}
	podSource, err := pod.NewPodScrapingSource(ctx, k8sClient, pod.PodScrapingSourceConfig{
		ServiceName:      service,
		ServiceNamespace: namespace,
		MetricsPort:      port,
	})
	if err != nil {
		return err
	}
	defer podSource.Close()
	const query = "metric"
	podSource.QueryList().MustRegister(source.QueryTemplate{Name: query, Type: source.QueryTypeMetricName, Template: metric})

	for {
		cached := podSource.Get(query, nil)
		if cached.IsExpired() { // a miss is expired too
			results, err := podSource.Refresh(ctx, source.RefreshSpec{Queries: []string{query}})
			switch {
			case ctx.Err() != nil:
				return nil // interrupted
			case err != nil:
				// Every pod failed (its result says why, per pod), or discovery did: nothing
				// to act on. Once, that is the outcome; a loop says so and tries again.
				if r := results[query]; r != nil {
					printResult(out, r, metric)
				}
				if interval <= 0 {
					return err
				}
				fmt.Fprintln(errOut, "scaler:", err)
			default:
				cached = podSource.Get(query, nil)
			}
		}
		if !cached.IsExpired() {
			printResult(out, &cached.Result, metric)
		}
		if interval <= 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(interval):
		}
	}
}

// printResult prints one line per pod: the metric's values, or why there are none.
func printResult(out io.Writer, result *source.MetricResult, metric string) {
	for _, st := range result.PodStatuses() {
		values, err := result.PodValues(st.Pod, metric)
		switch {
		case errors.Is(err, source.ErrPodDown):
			fmt.Fprintf(out, "%s\tdown (%s)\n", st.Pod, st.Reason)
		case errors.Is(err, source.ErrNoSuchMetric):
			fmt.Fprintf(out, "%s\tup, no %s\n", st.Pod, metric)
		case err != nil:
			fmt.Fprintf(out, "%s\t%v\n", st.Pod, err)
		default:
			for _, v := range values {
				fmt.Fprintf(out, "%s\t%s %g\n", st.Pod, metric, v.Value)
			}
		}
	}
}
