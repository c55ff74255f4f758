package pod

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/podscrape/podscrape/internal/localcluster"
	"github.com/podscrape/podscrape/source"
)

func TestMappedPodLabelName(t *testing.T) {
	for key, want := range map[string]string{
		"llm-d.ai/variant":                   "llm_d_ai_variant",
		"app":                                "app",
		"app.kubernetes.io/name":             "app_kubernetes_io_name",
		"Example.COM/Some_key-1.2":           "Example_COM_Some_key_1_2",
		"inference.networking.x-k8s.io/pool": "inference_networking_x_k8s_io_pool",
	} {
		if got := mappedPodLabelName(key); got != want {
			t.Errorf("mappedPodLabelName(%q): got %q, want %q", key, got, want)
		}
	}
}

func TestPodLabelsValidation(t *testing.T) {
	for _, tc := range []struct {
		keys []string
		want string // substring of the error; empty: valid
	}{
		{[]string{"llm-d.ai/variant", "app"}, ""},
		{[]string{"-bad"}, `"-bad" is not a Kubernetes label key`},
		{[]string{"a/b/c"}, `"a/b/c" is not a Kubernetes label key`},
		{[]string{"9lives"}, `"9lives" maps to "9lives", not a valid Prometheus label name`},
		{[]string{"pod"}, `"pod" maps to "pod", a label the scraper sets itself`},
		{[]string{"instance"}, "a label the scraper sets itself"},
		{[]string{"a.b", "a-b"}, `"a.b" and "a-b" both map to "a_b"`},
		{[]string{"app", "llm-d.ai/variant", "app"}, `PodLabels: "app" is given twice`},
	} {
		_, err := NewPodScrapingSource(context.Background(), cp.Client, PodScrapingSourceConfig{
			ServiceName: "s", ServiceNamespace: "ns", MetricsPort: 80, PodLabels: tc.keys,
		})
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("PodLabels %q: %v", tc.keys, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("PodLabels %q: got error %v, want one containing %s", tc.keys, err, tc.want)
		}
	}
}

func TestSeriesLabels(t *testing.T) {
	var b labels.Builder
	for _, tc := range []struct {
		name     string
		sample   map[string]string
		instance string
		want     string
	}{
		{"plain", map[string]string{"__name__": "m", "pod": "p"}, "127.0.0.2:8000",
			`{__name__="m", instance="127.0.0.2:8000", namespace="ns", pod="p"}`},
		{"IPv6 bracketed", map[string]string{"__name__": "m", "pod": "p"}, "[::1]:8000",
			`{__name__="m", instance="[::1]:8000", namespace="ns", pod="p"}`},
		{"exposed namespace and instance exported", map[string]string{"__name__": "m", "pod": "p", "namespace": "x", "instance": "y"}, "[::1]:8000",
			`{__name__="m", exported_instance="y", exported_namespace="x", instance="[::1]:8000", namespace="ns", pod="p"}`},
		// An empty value is no label: not exported, and no name taken.
		{"empty exposed labels neither exported nor taking a name", map[string]string{"__name__": "m", "pod": "p", "namespace": "", "instance": "y", "exported_instance": ""}, "[::1]:8000",
			`{__name__="m", exported_instance="y", instance="[::1]:8000", namespace="ns", pod="p"}`},
	} {
		if got := seriesLabels(&b, tc.sample, "ns", tc.instance).String(); got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.name, got, tc.want)
		}
	}
	// instance is the pod URL's host: IPv6 bracketed.
	s, err := NewPodScrapingSource(context.Background(), cp.Client, PodScrapingSourceConfig{ServiceName: "s", ServiceNamespace: "ns", MetricsPort: 8000})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tg := target{addr: s.podURL("::1")}
	if got := tg.instance(); got != "[::1]:8000" {
		t.Errorf("instance of pod ::1: got %q, want [::1]:8000", got)
	}
}

// TestSetTargetLabels: an exposed label a target label takes is kept as exported_<name>,
// prefixed again while a value takes the name; an empty one, no label to Prometheus,
// is neither kept nor takes a name.
func TestSetTargetLabels(t *testing.T) {
	mapped := []podLabel{{name: "llm_d_ai_variant", value: "v"}}
	for _, tc := range []struct {
		name    string
		exposed map[string]string
		want    map[string]string
	}{
		{"exposed pod", map[string]string{"pod": "x"}, map[string]string{"pod": "p", "exported_pod": "x", "llm_d_ai_variant": "v"}},
		{"exposed pod, exported_pod taken", map[string]string{"pod": "x", "exported_pod": "y"},
			map[string]string{"pod": "p", "exported_pod": "y", "exported_exported_pod": "x", "llm_d_ai_variant": "v"}},
		{"empty exposed pod", map[string]string{"pod": "", "llm_d_ai_variant": ""}, map[string]string{"pod": "p", "llm_d_ai_variant": "v"}},
		{"exported_pod empty", map[string]string{"pod": "x", "exported_pod": ""}, map[string]string{"pod": "p", "exported_pod": "x", "llm_d_ai_variant": "v"}},
	} {
		m := maps.Clone(tc.exposed)
		setTargetLabels(m, "p", mapped)
		if !maps.Equal(m, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, m, tc.want)
		}
	}
}

// Pod labels named in PodLabels are on every value (exposed samples and up) and on every
// PromQL series, with instance; an exposed label of a mapped name, or called instance,
// is kept as exported_<name>; a pod without the label gets none.
func TestPodLabelsOnValuesAndSeries(t *testing.T) {
	ctx := context.Background()
	ns := fmt.Sprintf("podlabels-%d", runs.Add(1))
	if err := cp.CreateNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	block := localcluster.NewAddressBlock()
	ips := []string{block.Next(), block.Next()}
	bodies := map[string]string{
		ips[0]: "# TYPE queue gauge\nqueue{model_name=\"m\"} 3\n",
		ips[1]: "# TYPE queue gauge\nqueue{model_name=\"m\",llm_d_ai_variant=\"exposed\",instance=\"engine-1\"} 5\n",
	}
	port, _ := servePods(t, ctx, ns, "vllm", ips, func(ip string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain; version=0.0.4")
			_, _ = w.Write([]byte(bodies[ip]))
		})
	})
	for i, variant := range []string{"small", "large"} {
		l := map[string]string{"app": "vllm", "llm-d.ai/variant": variant}
		if i == 0 {
			l["llm-d.ai/variant"] = "small"
		}
		if _, err := cp.CreatePod(ctx, localcluster.PodSpec{Namespace: ns, Name: fmt.Sprintf("vllm-%d", i), Labels: l, IP: ips[i], Ready: true}); err != nil {
			t.Fatal(err)
		}
	}
	s, err := NewPodScrapingSource(ctx, cp.Client, PodScrapingSourceConfig{
		ServiceName: "vllm", ServiceNamespace: ns, MetricsPort: port,
		PodLabels: []string{"llm-d.ai/variant", "absent.example/label"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, q := range []source.QueryTemplate{
		{Name: "per_pod", Type: source.QueryTypePromQL, Template: `max by (instance, pod, llm_d_ai_variant, exported_llm_d_ai_variant, exported_instance) (queue)`},
		{Name: "queue", Type: source.QueryTypeMetricName, Template: "queue"},
	} {
		if err := s.QueryList().Register(q); err != nil {
			t.Fatal(err)
		}
	}
	results, err := s.Refresh(ctx, source.RefreshSpec{Queries: []string{"per_pod", "queue", AllMetricsQuery}})
	if err != nil {
		t.Fatal(err)
	}
	show := func(vs []source.MetricValue) []string {
		var out []string
		for _, v := range vs {
			var ls []string
			for k, val := range v.Labels {
				ls = append(ls, k+"="+val)
			}
			slices.Sort(ls)
			out = append(out, fmt.Sprintf("%s %g", strings.Join(ls, ","), v.Value))
		}
		slices.Sort(out)
		return out
	}
	if r := results["per_pod"]; r.HasError() {
		t.Fatalf("per_pod: %v", r.Error)
	}
	want := []string{
		fmt.Sprintf("exported_instance=engine-1,exported_llm_d_ai_variant=exposed,instance=%s:%d,llm_d_ai_variant=large,pod=vllm-1 5", ips[1], port),
		fmt.Sprintf("instance=%s:%d,llm_d_ai_variant=small,pod=vllm-0 3", ips[0], port),
	}
	if got := show(results["per_pod"].Values); !slices.Equal(got, want) {
		t.Errorf("per_pod:\n got %q\nwant %q", got, want)
	}
	want = []string{
		"__name__=queue,exported_llm_d_ai_variant=exposed,instance=engine-1,llm_d_ai_variant=large,model_name=m,pod=vllm-1 5",
		"__name__=queue,llm_d_ai_variant=small,model_name=m,pod=vllm-0 3",
		"__name__=up,llm_d_ai_variant=large,pod=vllm-1 1",
		"__name__=up,llm_d_ai_variant=small,pod=vllm-0 1",
	}
	if got := show(results["queue"].Values); !slices.Equal(got, want) {
		t.Errorf("queue:\n got %q\nwant %q", got, want)
	}
	for _, v := range results[AllMetricsQuery].Values {
		if v.Labels["llm_d_ai_variant"] == "" {
			t.Errorf("all_metrics value without llm_d_ai_variant: %v", v.Labels)
		}
	}
}

func TestTargetPodLabels(t *testing.T) {
	keys := []string{"llm-d.ai/variant", "app.kubernetes.io/name", "absent"}
	got := targetPodLabels(keys, map[string]string{"llm-d.ai/variant": "v", "app.kubernetes.io/name": "", "other": "x"})
	want := []podLabel{{name: "llm_d_ai_variant", value: "v"}}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v (an empty value is no label, as in Prometheus)", got, want)
	}
}
