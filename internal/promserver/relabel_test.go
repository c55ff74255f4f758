package promserver

import (
	"testing"
	"time"

	promconfig "github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/relabel"
)

// The scrape config's relabeling, applied by Prometheus' own relabel package to a pod
// target as kubernetes_sd describes it, gives the labels a PodScrapingSource gives: the
// address (so instance) <pod IP>:<port> with an IPv6 address bracketed, namespace, pod,
// and the pod's llm-d.ai/variant as llm_d_ai_variant (none when the pod lacks it).
func TestScrapeConfigRelabelsAPodAsThePodSource(t *testing.T) {
	cfg, err := promconfig.Load(PodScrapeConfig("/tmp/kubeconfig", time.Second,
		PodJob{Name: "vllm", Namespace: "llm-d", Selector: "app=vllm", Port: 8123}), nil)
	if err != nil {
		t.Fatal(err)
	}
	rules := cfg.ScrapeConfigs[0].RelabelConfigs
	for _, tc := range []struct {
		ip, variant string
		want        string
	}{
		{"10.1.2.3", "qwen3-l4", `{__address__="10.1.2.3:8123", llm_d_ai_variant="qwen3-l4", namespace="llm-d", pod="vllm-0"}`},
		{"fd00::1", "qwen3-h100", `{__address__="[fd00::1]:8123", llm_d_ai_variant="qwen3-h100", namespace="llm-d", pod="vllm-0"}`},
		{"10.1.2.3", "", `{__address__="10.1.2.3:8123", namespace="llm-d", pod="vllm-0"}`},
	} {
		b := labels.NewBuilder(labels.FromStrings(
			"__address__", tc.ip, "__meta_kubernetes_pod_ip", tc.ip, "__meta_kubernetes_pod_ready", "true",
			"__meta_kubernetes_namespace", "llm-d", "__meta_kubernetes_pod_name", "vllm-0",
		))
		if tc.variant != "" {
			b.Set("__meta_kubernetes_pod_label_llm_d_ai_variant", tc.variant)
			b.Set("__meta_kubernetes_pod_labelpresent_llm_d_ai_variant", "true")
		}
		if !relabel.ProcessBuilder(b, rules...) {
			t.Fatalf("pod %s dropped", tc.ip)
		}
		// What the scrape keeps: the target labels without the __meta_ ones.
		got := b.Labels()
		kept := labels.NewBuilder(got)
		got.Range(func(l labels.Label) {
			if len(l.Name) > 7 && l.Name[:7] == "__meta_" {
				kept.Del(l.Name)
			}
		})
		if s := kept.Labels().String(); s != tc.want {
			t.Errorf("pod %s: got %s, want %s", tc.ip, s, tc.want)
		}
	}
}
