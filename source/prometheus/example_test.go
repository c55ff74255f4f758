package prometheus_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/podscrape/podscrape/source"
	"github.com/podscrape/podscrape/source/llmd"
	"github.com/podscrape/podscrape/source/pod"
	"github.com/podscrape/podscrape/source/prometheus"
)

// prometheusServer stands in for a Prometheus server: it answers every instant query
// with one sample of pod vllm-0.
func prometheusServer() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = fmt.Fprintf(w, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{"pod":"vllm-0"},"value":[%d,"0.25"]}]}}`, time.Now().Unix())
	}))
}

func ExampleNewPrometheusSource() {
	server := prometheusServer()
	defer server.Close()
	ctx := context.Background()

	api, err := prometheus.NewAPI(prometheus.ClientConfig{
		URL: server.URL,
		// In a pod: the projected ServiceAccount token, re-read when it rotates.
		// BearerTokenFile: "/var/run/secrets/kubernetes.io/serviceaccount/token",
		// Headers: map[string]string{"X-Scope-OrgID": "tenant-a"}, // Thanos, Mimir
	})
	if err != nil {
		panic(err)
	}
	src := prometheus.NewPrometheusSource(ctx, api, prometheus.DefaultPrometheusSourceConfig())
	if err := llmd.Register(src.QueryList(), llmd.VLLMQueries()); err != nil {
		panic(err)
	}
	params := map[string]string{source.ParamNamespace: "llm-d", source.ParamModelID: "Qwen/Qwen3-0.6B"}
	if _, err := src.Refresh(ctx, source.RefreshSpec{Queries: []string{llmd.KVCacheUsage}, Params: params}); err != nil {
		panic(err)
	}
	cached := src.Get(llmd.KVCacheUsage, params)
	v := cached.Result.FirstValue()
	fmt.Printf("%s of %s: %v\n", llmd.KVCacheUsage, v.Labels["pod"], v.Value)

	// MustGet answers from the cache, else refreshes that one query.
	fmt.Println(src.MustGet(ctx, llmd.KVCacheUsage, params).FirstValue().Value)
	// Output:
	// kv_cache_usage of vllm-0: 0.25
	// 0.25
}

// An application keeps its backends in one SourceRegistry, each with the same queries,
// and picks one by name: moving from scraping pods to a Prometheus server is a change of
// configuration, not of code.
func Example_switchBackends() {
	server := prometheusServer()
	defer server.Close()
	ctx := context.Background()

	// In a program: the manager's client (mgr.GetClient()).
	k8sClient := fake.NewClientBuilder().Build()
	pods, err := pod.NewPodScrapingSource(ctx, k8sClient, pod.PodScrapingSourceConfig{
		ServiceName: "vllm", ServiceNamespace: "llm-d", MetricsPort: 8000,
		// The variant label the queries group by, as the server's scrape config maps it
		// (docs/backends.md): without, the pods' series have no llm_d_ai_variant.
		PodLabels: llmd.PodLabels(),
	})
	if err != nil {
		panic(err)
	}
	defer pods.Close()
	api, err := prometheus.NewAPI(prometheus.ClientConfig{URL: server.URL})
	if err != nil {
		panic(err)
	}
	prom := prometheus.NewPrometheusSource(ctx, api, prometheus.PrometheusSourceConfig{})

	registry := source.NewSourceRegistry()
	for name, src := range map[string]source.MetricsSource{"pods": pods, "prometheus": prom} {
		if err := llmd.Register(src.QueryList(), llmd.Queries()); err != nil {
			panic(err)
		}
		registry.MustRegister(name, src)
	}
	fmt.Println(registry.List())

	backend := "prometheus" // from the application's configuration
	src := registry.Get(backend)
	params := map[string]string{source.ParamNamespace: "llm-d", source.ParamModelID: "Qwen/Qwen3-0.6B"}
	results, err := src.Refresh(ctx, source.RefreshSpec{Queries: []string{llmd.QueueLength}, Params: params})
	if err != nil {
		panic(err)
	}
	fmt.Println(backend, llmd.QueueLength, results[llmd.QueueLength].FirstValue().Value)
	// Output:
	// [pods prometheus]
	// prometheus queue_length 0.25
}
