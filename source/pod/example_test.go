package pod_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/podscrape/podscrape/podscrapetest"
	"github.com/podscrape/podscrape/source"
	"github.com/podscrape/podscrape/source/pod"
)

// eppExposition is what the example EPP pods serve.
const eppExposition = `# TYPE inference_pool_average_queue_size gauge
inference_pool_average_queue_size{name="my-inference-pool"} 5
# TYPE inference_pool_average_kv_cache_utilization gauge
inference_pool_average_kv_cache_utilization{name="my-inference-pool"} 0.85
# TYPE inference_objective_running_requests gauge
inference_objective_running_requests{model_name="llama-3-8b"} 10
`

// printValues prints the values of names, sorted, one per line.
func printValues(result *source.MetricResult, names ...string) {
	var lines []string
	for _, value := range result.Values {
		if slices.Contains(names, value.Labels["__name__"]) {
			lines = append(lines, fmt.Sprintf("Metric: %s, Value: %f, Pod: %s",
				value.Labels["__name__"], value.Value, value.Labels["pod"]))
		}
	}
	slices.Sort(lines)
	fmt.Println(strings.Join(lines, "\n"))
}

// The guide's "Create a source" and "Refresh".
func ExampleNewPodScrapingSource() {
	ctx := context.Background()
	// The test kit stands in for the cluster: Service epp-service in namespace llm-d, with
	// two Ready EPP pods on loopback addresses.
	env, err := podscrapetest.Start(podscrapetest.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer env.Stop()
	svc, err := env.NewService(ctx, podscrapetest.ServiceOptions{
		Namespace: "llm-d",
		Name:      "epp-service",
		PodNames:  []string{"epp-pod-0", "epp-pod-1"},
		Body:      eppExposition,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer svc.Close()
	k8sClient := env.Client // in a program: a client of your cluster (Example_kubeconfig)

	config := pod.PodScrapingSourceConfig{
		// Required: Service identification
		ServiceName:      "epp-service",
		ServiceNamespace: "llm-d",

		// Required: Metrics endpoint
		MetricsPort: svc.Port, // in a cluster: the pods' port, 9090 say

		// Optional: Customize defaults
		MetricsPath:   "/metrics", // default: "/metrics"
		MetricsScheme: "http",     // default: "http"
	}

	podSource, err := pod.NewPodScrapingSource(ctx, k8sClient, config)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer podSource.Close()

	results, err := podSource.Refresh(ctx, source.RefreshSpec{
		Queries: []string{"all_metrics"}, // Empty = refresh all registered queries
		Params:  map[string]string{},     // Query parameters (not used for pod scraping)
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	result := results["all_metrics"]
	if result != nil {
		printValues(result, "inference_pool_average_queue_size", "up")
	}
	// Output:
	// Metric: inference_pool_average_queue_size, Value: 5.000000, Pod: epp-pod-0
	// Metric: inference_pool_average_queue_size, Value: 5.000000, Pod: epp-pod-1
	// Metric: up, Value: 1.000000, Pod: epp-pod-0
	// Metric: up, Value: 1.000000, Pod: epp-pod-1
}

// The guide's "Or start from the defaults" and "Get".
func ExamplePodScrapingSource_Get() {
	ctx := context.Background()
	// The test kit stands in for the cluster: Service epp-service in namespace llm-d, with
	// two Ready EPP pods on loopback addresses.
	env, err := podscrapetest.Start(podscrapetest.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer env.Stop()
	svc, err := env.NewService(ctx, podscrapetest.ServiceOptions{
		Namespace: "llm-d",
		Name:      "epp-service",
		PodNames:  []string{"epp-pod-0", "epp-pod-1"},
		Body:      eppExposition,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer svc.Close()
	k8sClient := env.Client // in a program: a client of your cluster (Example_kubeconfig)

	config := pod.DefaultPodScrapingSourceConfig()
	config.ServiceName = "epp-service"
	config.ServiceNamespace = "llm-d"
	config.MetricsPort = svc.Port

	podSource, err := pod.NewPodScrapingSource(ctx, k8sClient, config)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer podSource.Close()

	for range 2 {
		cached := podSource.Get("all_metrics", nil)
		if cached != nil && !cached.IsExpired() {
			result := cached.Result
			fmt.Println("cache hit, age under the TTL:", cached.Age() < config.DefaultTTL)
			printValues(&result, "inference_objective_running_requests")
		} else {
			// Cache miss or expired - call Refresh()
			fmt.Println("cache miss")
			if _, err := podSource.Refresh(ctx, source.RefreshSpec{}); err != nil {
				fmt.Println(err)
				return
			}
		}
	}
	// Output:
	// cache miss
	// cache hit, age under the TTL: true
	// Metric: inference_objective_running_requests, Value: 10.000000, Pod: epp-pod-0
	// Metric: inference_objective_running_requests, Value: 10.000000, Pod: epp-pod-1
}

// The guide's "Queries": the query list, and a metric-name query from the same scrape.
func ExamplePodScrapingSource_QueryList() {
	ctx := context.Background()
	// The test kit stands in for the cluster: Service epp-service in namespace llm-d, with
	// two Ready EPP pods on loopback addresses.
	env, err := podscrapetest.Start(podscrapetest.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer env.Stop()
	svc, err := env.NewService(ctx, podscrapetest.ServiceOptions{
		Namespace: "llm-d",
		Name:      "epp-service",
		PodNames:  []string{"epp-pod-0", "epp-pod-1"},
		Body:      eppExposition,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer svc.Close()
	k8sClient := env.Client // in a program: a client of your cluster (Example_kubeconfig)
	podSource, err := pod.NewPodScrapingSource(ctx, k8sClient, pod.PodScrapingSourceConfig{
		ServiceName: "epp-service", ServiceNamespace: "llm-d", MetricsPort: svc.Port,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer podSource.Close()

	registry := podSource.QueryList()
	queries := registry.List()
	fmt.Println(queries)

	registry.MustRegister(source.QueryTemplate{
		Name:     "kv_cache",
		Type:     source.QueryTypeMetricName,
		Template: "inference_pool_average_kv_cache_utilization",
	})
	results, err := podSource.Refresh(ctx, source.RefreshSpec{Queries: []string{"kv_cache"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	printValues(results["kv_cache"], "inference_pool_average_kv_cache_utilization")
	// Output:
	// [all_metrics]
	// Metric: inference_pool_average_kv_cache_utilization, Value: 0.850000, Pod: epp-pod-0
	// Metric: inference_pool_average_kv_cache_utilization, Value: 0.850000, Pod: epp-pod-1
}

// The guide's "A registry of sources" and "An engine".
func Example_sourceRegistry() {
	ctx := context.Background()
	// The test kit stands in for the cluster: Service epp-service in namespace llm-d, with
	// two Ready EPP pods on loopback addresses.
	env, err := podscrapetest.Start(podscrapetest.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer env.Stop()
	svc, err := env.NewService(ctx, podscrapetest.ServiceOptions{
		Namespace: "llm-d",
		Name:      "epp-service",
		PodNames:  []string{"epp-pod-0", "epp-pod-1"},
		Body:      eppExposition,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer svc.Close()
	k8sClient := env.Client // in a program: a client of your cluster (Example_kubeconfig)

	// Create source
	config := pod.PodScrapingSourceConfig{
		ServiceName:      "epp-service",
		ServiceNamespace: "llm-d",
		MetricsPort:      svc.Port,
	}
	podSource, err := pod.NewPodScrapingSource(ctx, k8sClient, config)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer podSource.Close()

	// Register in registry
	registry := source.NewSourceRegistry()
	if err := registry.Register("pod-scraping-epp", podSource); err != nil {
		fmt.Println(err)
		return
	}

	// Use from registry
	engine := &MyEngine{source: registry.Get("pod-scraping-epp")}
	pending, err := engine.CheckPendingRequests(ctx)
	fmt.Println("pending requests:", pending, err)
	// Output:
	// pending requests: true <nil>
}

type MyEngine struct {
	source source.MetricsSource
}

func (e *MyEngine) CheckPendingRequests(ctx context.Context) (bool, error) {
	results, err := e.source.Refresh(ctx, source.RefreshSpec{})
	if err != nil {
		return false, err
	}

	result := results["all_metrics"]
	for _, value := range result.Values {
		// Check for pending requests using queue size metrics
		metricName := value.Labels["__name__"]
		if (metricName == "inference_pool_average_queue_size" ||
			metricName == "inference_extension_flow_control_queue_size") &&
			value.Value > 0 {
			return true, nil
		}
	}

	return false, nil
}

// The guide's configuration examples, each valid as written.
func ExamplePodScrapingSourceConfig() {
	configs := map[string]pod.PodScrapingSourceConfig{
		"minimal": {
			ServiceName:      "epp-service",
			ServiceNamespace: "default",
			MetricsPort:      9090,
		},
		"secret in the same namespace": {
			ServiceName:             "epp-service",
			ServiceNamespace:        "default",
			MetricsPort:             9090,
			MetricsReaderSecretName: "metrics-reader-secret",
			MetricsReaderSecretKey:  "token",
		},
		"secret in another namespace": {
			ServiceName:                  "epp-service",
			ServiceNamespace:             "default",
			MetricsPort:                  9090,
			MetricsReaderSecretName:      "epp-metrics-token",
			MetricsReaderSecretNamespace: "workload-variant-autoscaler-system", // Secret in controller namespace
			MetricsReaderSecretKey:       "token",
		},
		"custom timeouts and concurrency": {
			ServiceName:          "epp-service",
			ServiceNamespace:     "default",
			MetricsPort:          9090,
			ScrapeTimeout:        10 * time.Second,
			MaxConcurrentScrapes: 5,
			DefaultTTL:           60 * time.Second,
		},
		"direct bearer token": {
			ServiceName:      "epp-service",
			ServiceNamespace: "default",
			MetricsPort:      9090,
			BearerToken:      "your-token-here",
		},
		"cross-namespace authentication": {
			ServiceName:                  "epp-service",
			ServiceNamespace:             "llm-d", // EPP service namespace
			MetricsPort:                  9090,
			MetricsReaderSecretName:      "metrics-reader-token",
			MetricsReaderSecretNamespace: "auth-namespace", // Secret namespace
			MetricsReaderSecretKey:       "token",
		},
	}
	// NewPodScrapingSource validates the config and reads nothing: any client.Reader does
	// here. In a program: a client of your cluster (Example_kubeconfig, Example_manager).
	k8sClient := fake.NewClientBuilder().Build()
	for _, name := range slices.Sorted(maps.Keys(configs)) {
		s, err := pod.NewPodScrapingSource(context.Background(), k8sClient, configs[name])
		fmt.Println(name, "valid:", err == nil)
		if s != nil {
			s.Close()
		}
	}
	// Output:
	// cross-namespace authentication valid: true
	// custom timeouts and concurrency valid: true
	// direct bearer token valid: true
	// minimal valid: true
	// secret in another namespace valid: true
	// secret in the same namespace valid: true
}
