package parity

import (
	"context"
	"maps"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/podscrape/podscrape/source"
	"github.com/podscrape/podscrape/source/llmd"
	"github.com/podscrape/podscrape/source/pod"
)

// The pod source's PodLabels and instance label the series as the real Prometheus
// server does with the scrape config's relabeling (internal/promserver/scrapeconfig.yaml:
// the labelmap of __meta_kubernetes_pod_label_llm_d_ai_variant, instance kept): the same
// series, label for label, for a plain selector and for the autoscaler's grouping, with
// an exposed llm_d_ai_variant and an exposed instance kept as exported_<name> on both,
// and a pod without the label without it on both. Metric-name values carry the same pod
// labels, without Prometheus' namespace and instance.
func TestPodLabelsLabelSeriesAsPrometheus(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	type podSpec struct {
		name, variant, body string
	}
	pods := []podSpec{
		{"vllm-0", "qwen3-l4", "# TYPE vllm:num_requests_waiting gauge\nvllm:num_requests_waiting{engine=\"0\",model_name=\"m\"} 3\n"},
		{"vllm-1", "qwen3-h100", "# TYPE vllm:num_requests_waiting gauge\nvllm:num_requests_waiting{engine=\"0\",instance=\"engine-a\",llm_d_ai_variant=\"exposed\",model_name=\"m\"} 5\n"},
		{"vllm-2", "", "# TYPE vllm:num_requests_waiting gauge\nvllm:num_requests_waiting{engine=\"0\",model_name=\"m\"} 7\n"},
	}
	names := make([]string, len(pods))
	bodies := map[string]string{}
	variants := map[string]map[string]string{}
	for i, p := range pods {
		names[i] = p.name
		bodies[p.name] = p.body
		if p.variant != "" {
			variants[p.name] = map[string]string{llmd.VariantLabel: p.variant}
		}
	}
	queries := map[string]string{
		"plain":    `vllm:num_requests_waiting`,
		"grouped":  `max by (instance, pod, llm_d_ai_variant) (vllm:num_requests_waiting)`,
		"exported": `max by (exported_instance, exported_llm_d_ai_variant, llm_d_ai_variant) (vllm:num_requests_waiting)`,
	}
	sc := startScene(t, ctx, sceneSpec{
		prefix: "podlabels", names: names, labels: variants, queries: queries,
		handler: func(name string) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "text/plain; version=0.0.4")
				_, _ = w.Write([]byte(bodies[name]))
			})
		},
		source: func(c *pod.PodScrapingSourceConfig) { c.PodLabels = llmd.PodLabels() },
	})
	ns, prom, src := sc.ns, sc.prom, sc.src
	queryNames := slices.Collect(maps.Keys(queries))
	if err := src.QueryList().Register(source.QueryTemplate{Name: "waiting", Type: source.QueryTypeMetricName, Template: "vllm:num_requests_waiting"}); err != nil {
		t.Fatal(err)
	}
	waitScraped(t, ctx, prom, time.Now(), len(pods))
	results, err := src.Refresh(ctx, source.RefreshSpec{Queries: append(queryNames, "waiting")})
	if err != nil {
		t.Fatal(err)
	}
	at := results[queryNames[0]].CollectedAt
	for name, q := range queries {
		v, _, _, err := prom.API.Query(ctx, q, at)
		if err != nil {
			t.Fatalf("%s on Prometheus: %v", name, err)
		}
		got, want := ours(results[name]), theirs(v)
		if !maps.Equal(got, want) {
			t.Errorf("%s:\n ours   %v\n theirs %v", name, got, want)
		}
		if len(want) == 0 {
			t.Errorf("%s: Prometheus answered nothing", name)
		}
	}
	// The metric-name values: Prometheus' series without namespace and instance (an
	// exposed instance stays instance there, as an exposed namespace stays namespace).
	v, _, _, err := prom.API.Query(ctx, queries["plain"], at)
	if err != nil {
		t.Fatal(err)
	}
	want := series{}
	for text, value := range theirs(v) {
		want[text] = value
	}
	got := series{}
	for _, mv := range results["waiting"].Values {
		if mv.Labels["__name__"] == "up" {
			continue
		}
		l := maps.Clone(mv.Labels)
		if exposed, ok := l["instance"]; ok {
			l["exported_instance"] = exposed
		}
		l["namespace"] = ns
		l["instance"] = sc.instances[mv.Labels["pod"]]
		got[labelText(l)] = mv.Value
	}
	if !maps.Equal(got, want) {
		t.Errorf("metric-name values (with namespace and instance added):\n ours   %v\n theirs %v", got, want)
	}
}
