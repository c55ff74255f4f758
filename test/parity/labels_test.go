package parity

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/podscrape/podscrape/internal/localcluster"
	"github.com/podscrape/podscrape/internal/promserver"
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
	ns := fmt.Sprintf("podlabels-%d", time.Now().UnixNano()%1_000_000)
	if err := cp.CreateNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	type podSpec struct {
		name, variant, body string
	}
	pods := []podSpec{
		{"vllm-0", "qwen3-l4", "# TYPE vllm:num_requests_waiting gauge\nvllm:num_requests_waiting{engine=\"0\",model_name=\"m\"} 3\n"},
		{"vllm-1", "qwen3-h100", "# TYPE vllm:num_requests_waiting gauge\nvllm:num_requests_waiting{engine=\"0\",instance=\"engine-a\",llm_d_ai_variant=\"exposed\",model_name=\"m\"} 5\n"},
		{"vllm-2", "", "# TYPE vllm:num_requests_waiting gauge\nvllm:num_requests_waiting{engine=\"0\",model_name=\"m\"} 7\n"},
	}
	block := localcluster.NewAddressBlock()
	ips := make([]string, len(pods))
	bodies := map[string]string{}
	for i, p := range pods {
		ips[i] = block.Next()
		bodies[ips[i]] = p.body
	}
	servers, err := localcluster.ServeAll(ips, func(ip string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain; version=0.0.4")
			_, _ = w.Write([]byte(bodies[ip]))
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, s := range servers {
			_ = s.Close()
		}
	})
	port := servers[0].Port
	selector := map[string]string{"app": "vllm"}
	if err := cp.CreateService(ctx, ns, "vllm", selector, int32(port)); err != nil {
		t.Fatal(err)
	}
	for i, p := range pods {
		l := maps.Clone(selector)
		if p.variant != "" {
			l[llmd.VariantLabel] = p.variant
		}
		mustPod(t, ctx, localcluster.PodSpec{Namespace: ns, Name: p.name, Labels: l, IP: ips[i], Ready: true})
	}
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := localcluster.WriteKubeconfig(cp.Config, ns, kubeconfig); err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	prom, err := promserver.Start(ctx, promserver.Options{
		Config: promserver.PodScrapeConfig(kubeconfig, time.Second,
			promserver.PodJob{Name: "vllm", Namespace: ns, Selector: "app=vllm", Port: port}),
		Log: &syncWriter{b: &log},
	})
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	t.Cleanup(func() { _ = prom.Stop() })

	src, err := pod.NewPodScrapingSource(ctx, cp.Client, pod.PodScrapingSourceConfig{
		ServiceName: "vllm", ServiceNamespace: ns, MetricsPort: int32(port), PodLabels: llmd.PodLabels(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(src.Close)
	queries := map[string]string{
		"plain":    `vllm:num_requests_waiting`,
		"grouped":  `max by (instance, pod, llm_d_ai_variant) (vllm:num_requests_waiting)`,
		"exported": `max by (exported_instance, exported_llm_d_ai_variant, llm_d_ai_variant) (vllm:num_requests_waiting)`,
	}
	var names []string
	for name, q := range queries {
		names = append(names, name)
		if err := src.QueryList().Register(source.QueryTemplate{Name: name, Type: source.QueryTypePromQL, Template: q}); err != nil {
			t.Fatal(err)
		}
	}
	if err := src.QueryList().Register(source.QueryTemplate{Name: "waiting", Type: source.QueryTypeMetricName, Template: "vllm:num_requests_waiting"}); err != nil {
		t.Fatal(err)
	}
	waitScraped(t, ctx, prom, time.Now(), len(pods))
	results, err := src.Refresh(ctx, source.RefreshSpec{Queries: append(names, "waiting")})
	if err != nil {
		t.Fatal(err)
	}
	at := results[names[0]].CollectedAt
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
		l["instance"] = fmt.Sprintf("%s:%d", ips[indexOf(pods, func(p podSpec) bool { return p.name == mv.Labels["pod"] })], port)
		got[labelText(l)] = mv.Value
	}
	if !maps.Equal(got, want) {
		t.Errorf("metric-name values (with namespace and instance added):\n ours   %v\n theirs %v", got, want)
	}
}

func indexOf[T any](s []T, f func(T) bool) int {
	for i, v := range s {
		if f(v) {
			return i
		}
	}
	return -1
}
