package pod_test

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/podscrape/podscrape/internal/localcluster"
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

// exampleService starts Service epp-service in a fresh namespace with two ready EPP pods
// on loopback addresses, and returns the namespace, the port and the admin client.
func exampleService(ns string) (int32, client.Client) {
	cp := pod.ControlPlane()
	ctx := context.Background()
	if err := cp.CreateNamespace(ctx, ns); err != nil {
		panic(err)
	}
	block := localcluster.NewAddressBlock()
	ips := []string{block.Next(), block.Next()}
	servers, err := localcluster.ServeAll(ips, func(string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain; version=0.0.4")
			_, _ = w.Write([]byte(eppExposition))
		})
	})
	if err != nil {
		panic(err)
	}
	port := int32(servers[0].Port)
	sel := map[string]string{"app": "epp"}
	if err := cp.CreateService(ctx, ns, "epp-service", sel, port); err != nil {
		panic(err)
	}
	for i, ip := range ips {
		name := fmt.Sprintf("epp-pod-%d", i)
		if _, err := cp.CreatePod(ctx, localcluster.PodSpec{Namespace: ns, Name: name, Labels: sel, IP: ip, Ready: true}); err != nil {
			panic(err)
		}
	}
	return port, cp.Client
}

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

// The guide's "Create a PodScrapingSource Instance" and "Refresh Metrics".
func ExampleNewPodScrapingSource() {
	port, k8sClient := exampleService("example-new")
	ctx := context.Background()

	config := pod.PodScrapingSourceConfig{
		// Required: Service identification
		ServiceName:      "epp-service",
		ServiceNamespace: "example-new",

		// Required: Metrics endpoint
		MetricsPort: port,

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

// The guide's "Use Default Configuration" and "Get Cached Metrics".
func ExamplePodScrapingSource_Get() {
	port, k8sClient := exampleService("example-get")
	ctx := context.Background()

	config := pod.DefaultPodScrapingSourceConfig()
	config.ServiceName = "epp-service"
	config.ServiceNamespace = "example-get"
	config.MetricsPort = port

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

// The guide's "Query List", plus a metric-name query answered by the same scrape.
func ExamplePodScrapingSource_QueryList() {
	port, k8sClient := exampleService("example-queries")
	ctx := context.Background()
	podSource, err := pod.NewPodScrapingSource(ctx, k8sClient, pod.PodScrapingSourceConfig{
		ServiceName: "epp-service", ServiceNamespace: "example-queries", MetricsPort: port,
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

// The guide's "Register in SourceRegistry" and "Use in Engine Example".
func Example_sourceRegistry() {
	port, k8sClient := exampleService("example-registry")
	ctx := context.Background()

	// Create source
	config := pod.PodScrapingSourceConfig{
		ServiceName:      "epp-service",
		ServiceNamespace: "example-registry",
		MetricsPort:      port,
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
	k8sClient := pod.ControlPlane().Client
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
