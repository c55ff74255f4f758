package localcluster_test

import (
	"context"
	"errors"
	"maps"
	"net"
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/podscrape/podscrape/internal/localcluster"
	"github.com/podscrape/podscrape/source"
	"github.com/podscrape/podscrape/source/pod"
)

// scrape refreshes all_metrics of the install's Service svc with cfg's auth settings.
func scrape(t *testing.T, svc string, port int32, cfg pod.PodScrapingSourceConfig) (*source.MetricResult, error) {
	t.Helper()
	cfg.ServiceName, cfg.ServiceNamespace, cfg.MetricsPort = svc, llmd.Namespace, port
	s, err := pod.NewPodScrapingSource(context.Background(), cp.Client, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	results, err := s.Refresh(ctx, source.RefreshSpec{})
	r := results[pod.AllMetricsQuery]
	if r == nil && err == nil {
		t.Fatalf("Refresh of %s: no result and no error", svc)
	}
	return r, err
}

// upByPod returns each scraped pod's up value.
func upByPod(r *source.MetricResult) map[string]float64 {
	out := map[string]float64{}
	for _, v := range r.Values {
		if v.Labels["__name__"] == "up" {
			out[v.Labels["pod"]] = v.Value
		}
	}
	return out
}

// statusByPod returns the HTTP status of each failed pod's *pod.StatusError.
func statusByPod(t *testing.T, err error) map[string]int {
	t.Helper()
	out := map[string]int{}
	var joined interface{ Unwrap() []error }
	if !errors.As(err, &joined) {
		t.Fatalf("error %v: want one error per pod, joined", err)
	}
	for _, e := range joined.Unwrap() {
		var se *pod.ScrapeError
		var status *pod.StatusError
		if !errors.As(e, &se) || !errors.As(e, &status) {
			t.Fatalf("error %v: want a *pod.ScrapeError wrapping a *pod.StatusError", e)
		}
		out[se.Pod] = status.StatusCode
	}
	return out
}

func TestLLMDEPPScrapedWithTheSecretsToken(t *testing.T) {
	r, err := scrape(t, llmd.EPPService, llmd.EPPPort, pod.PodScrapingSourceConfig{
		MetricsReaderSecretName:      llmd.SecretName,
		MetricsReaderSecretNamespace: llmd.SecretNamespace,
	})
	if err != nil || r.Error != nil {
		t.Fatalf("Refresh: got %v / %v, want no error", err, r.Error)
	}
	want := map[string]float64{"epp-0": 1, "epp-1": 1}
	if got := upByPod(r); !maps.Equal(got, want) {
		t.Fatalf("up: got %v, want %v", got, want)
	}
	names := map[string]bool{}
	for _, v := range r.Values {
		names[v.Labels["__name__"]] = true
	}
	for _, n := range []string{"inference_pool_average_queue_size", "inference_pool_per_pod_queue_size",
		"inference_objective_request_total", "inference_extension_flow_control_queue_size"} {
		if !names[n] {
			t.Errorf("metric %s: missing from the EPP scrape", n)
		}
	}
}

func TestLLMDVLLMSkipsNotReadyAndTerminatingPods(t *testing.T) {
	r, err := scrape(t, llmd.VLLMService, llmd.VLLMPort, pod.PodScrapingSourceConfig{})
	if err != nil || r.Error != nil {
		t.Fatalf("Refresh: got %v / %v, want no error", err, r.Error)
	}
	got := slices.Sorted(maps.Keys(upByPod(r)))
	if !slices.Equal(got, llmd.VLLMPods) {
		t.Fatalf("scraped pods: got %v, want %v (skipped: %v)", got, llmd.VLLMPods, llmd.SkippedVLLMPods)
	}
	// The skipped pods' servers do answer: they were skipped by discovery, not by failure.
	for _, name := range llmd.SkippedVLLMPods {
		var p corev1.Pod
		if err := cp.Client.Get(context.Background(), client.ObjectKey{Namespace: llmd.Namespace, Name: name}, &p); err != nil {
			t.Fatal(err)
		}
		url := "http://" + net.JoinHostPort(p.Status.PodIP, strconv.Itoa(int(llmd.VLLMPort))) + "/metrics"
		resp, err := http.Get(url)
		if err != nil {
			t.Fatalf("GET %s of skipped pod %s: %v", url, name, err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s of skipped pod %s: got status %d, want 200", url, name, resp.StatusCode)
		}
	}
}

func TestLLMDEPPWithoutTokenIsUnauthorized(t *testing.T) {
	r, err := scrape(t, llmd.EPPService, llmd.EPPPort, pod.PodScrapingSourceConfig{})
	if !errors.Is(err, pod.ErrAllPodsFailed) {
		t.Fatalf("Refresh: got %v, want ErrAllPodsFailed", err)
	}
	want := map[string]int{llmd.Namespace + "/epp-0": http.StatusUnauthorized, llmd.Namespace + "/epp-1": http.StatusUnauthorized}
	if got := statusByPod(t, r.Error); !maps.Equal(got, want) {
		t.Fatalf("status by pod: got %v, want %v", got, want)
	}
}

func TestLLMDEPPTokenWithoutRBACIsForbidden(t *testing.T) {
	ctx := context.Background()
	token, err := cp.ServiceAccountToken(ctx, llmd.SecretNamespace, "no-metrics-rbac")
	if err != nil {
		t.Fatal(err)
	}
	r, err := scrape(t, llmd.EPPService, llmd.EPPPort, pod.PodScrapingSourceConfig{BearerToken: token})
	if !errors.Is(err, pod.ErrAllPodsFailed) {
		t.Fatalf("Refresh: got %v, want ErrAllPodsFailed", err)
	}
	want := map[string]int{llmd.Namespace + "/epp-0": http.StatusForbidden, llmd.Namespace + "/epp-1": http.StatusForbidden}
	if got := statusByPod(t, r.Error); !maps.Equal(got, want) {
		t.Fatalf("status by pod: got %v, want %v", got, want)
	}
}

// The install's model servers carry their variant (llm-d.ai/variant), which PodLabels
// copies onto their samples as llm_d_ai_variant, and the SGLang Service serves SGLang's
// metrics, apart from the vLLM Service.
func TestLLMDVariantsAndSGLang(t *testing.T) {
	labels := pod.PodScrapingSourceConfig{PodLabels: []string{localcluster.VariantLabel}}
	for _, tc := range []struct {
		svc     string
		port    int32
		pods    []string
		metric  string
		variant map[string]string
	}{
		{llmd.VLLMService, llmd.VLLMPort, llmd.VLLMPods, "vllm:kv_cache_usage_perc", map[string]string{"vllm-0": "qwen3-l4", "vllm-1": "qwen3-h100"}},
		{llmd.SGLangService, llmd.SGLangPort, llmd.SGLangPods, "sglang:token_usage", map[string]string{"sglang-0": "qwen3-sglang"}},
	} {
		r, err := scrape(t, tc.svc, tc.port, labels)
		if err != nil || r.Error != nil {
			t.Fatalf("Refresh of %s: got %v / %v, want no error", tc.svc, err, r.Error)
		}
		if got := slices.Sorted(maps.Keys(upByPod(r))); !slices.Equal(got, tc.pods) {
			t.Fatalf("%s: scraped pods %v, want %v", tc.svc, got, tc.pods)
		}
		seen := 0
		for _, v := range r.Values {
			if v.Labels["llm_d_ai_variant"] != tc.variant[v.Labels["pod"]] {
				t.Fatalf("%s: %v: want llm_d_ai_variant %q", tc.svc, v.Labels, tc.variant[v.Labels["pod"]])
			}
			if v.Labels["__name__"] == tc.metric {
				seen++
			}
		}
		if seen != len(tc.pods) {
			t.Errorf("%s: %d samples of %s, want one per pod", tc.svc, seen, tc.metric)
		}
	}
}
