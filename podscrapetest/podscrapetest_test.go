package podscrapetest_test

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"os"
	"slices"
	"testing"

	"github.com/podscrape/podscrape/podscrapetest"
	"github.com/podscrape/podscrape/source"
	"github.com/podscrape/podscrape/source/pod"
)

// env is the API server every test of the package shares, each in its own namespace.
var env *podscrapetest.Environment

func TestMain(m *testing.M) {
	os.Exit(podscrapetest.Run(m, podscrapetest.Options{}, &env))
}

// refresh scrapes svc once through a PodScrapingSource and returns all_metrics.
func refresh(t *testing.T, svc *podscrapetest.Service) *source.MetricResult {
	t.Helper()
	ctx := context.Background()
	src, err := pod.NewPodScrapingSource(ctx, env.Client, pod.PodScrapingSourceConfig{
		ServiceName: svc.Name, ServiceNamespace: svc.Namespace, MetricsPort: svc.Port,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	results, err := src.Refresh(ctx, source.RefreshSpec{})
	if err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	return results[pod.AllMetricsQuery]
}

// queues returns each pod's queue value, and for a pod without one the sentinel error
// PodValues gives.
func queues(r *source.MetricResult, pods ...string) map[string]any {
	out := map[string]any{}
	for _, p := range pods {
		values, err := r.PodValues(p, "queue")
		switch {
		case errors.Is(err, source.ErrPodDown):
			out[p] = source.ErrPodDown
		case errors.Is(err, source.ErrNoSuchMetric):
			out[p] = source.ErrNoSuchMetric
		case errors.Is(err, source.ErrPodNotScraped):
			out[p] = source.ErrPodNotScraped
		case err != nil:
			out[p] = err
		default:
			out[p] = values[0].Value
		}
	}
	return out
}

func equal(a, b map[string]any) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestService drives one Service through what the kit offers and checks each step through
// a real PodScrapingSource: bodies, handlers, readiness, pods added and deleted.
func TestService(t *testing.T) {
	ctx := context.Background()
	svc, err := env.NewService(ctx, podscrapetest.ServiceOptions{Name: "vllm", Pods: 2, Body: "# TYPE queue gauge\nqueue 3\n"})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := svc.Close(); err != nil {
			t.Error(err)
		}
	}()
	pods := svc.Pods()
	if len(pods) != 2 || pods[0].Name != "vllm-0" || svc.Pod("vllm-1") != pods[1] {
		t.Fatalf("Pods: got %v, want vllm-0 and vllm-1", pods)
	}
	for _, p := range pods {
		if addr, err := netip.ParseAddr(p.IP); err != nil || !addr.IsLoopback() {
			t.Fatalf("pod %s has IP %q: want a loopback address", p.Name, p.IP)
		}
	}

	steps := []struct {
		name   string
		change func(t *testing.T)
		want   map[string]any // queue by pod: a value or a sentinel
	}{
		{"initial body", func(*testing.T) {}, map[string]any{"vllm-0": 3.0, "vllm-1": 3.0}},
		{"SetBody", func(*testing.T) { pods[1].SetBody("# TYPE queue gauge\nqueue 5\n") },
			map[string]any{"vllm-0": 3.0, "vllm-1": 5.0}},
		{"a body without the metric", func(*testing.T) { pods[1].SetBody("# TYPE kv gauge\nkv 0.5\n") },
			map[string]any{"vllm-0": 3.0, "vllm-1": source.ErrNoSuchMetric}},
		{"SetHandler failing", func(*testing.T) {
			pods[1].SetHandler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				http.Error(w, "overloaded", http.StatusServiceUnavailable)
			}))
		}, map[string]any{"vllm-0": 3.0, "vllm-1": source.ErrPodDown}},
		{"SetReady false", func(t *testing.T) {
			if err := pods[1].SetReady(ctx, false); err != nil {
				t.Fatal(err)
			}
		}, map[string]any{"vllm-0": 3.0, "vllm-1": source.ErrPodNotScraped}},
		{"AddPod", func(t *testing.T) {
			if _, err := svc.AddPod(ctx, "vllm-2"); err != nil {
				t.Fatal(err)
			}
		}, map[string]any{"vllm-0": 3.0, "vllm-1": source.ErrPodNotScraped, "vllm-2": 3.0}},
		{"Delete", func(t *testing.T) {
			if err := pods[0].Delete(ctx); err != nil {
				t.Fatal(err)
			}
		}, map[string]any{"vllm-0": source.ErrPodNotScraped, "vllm-1": source.ErrPodNotScraped, "vllm-2": 3.0}},
	}
	for _, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			step.change(t)
			result := refresh(t, svc)
			names := slices.Sorted(func(yield func(string) bool) {
				for k := range step.want {
					if !yield(k) {
						return
					}
				}
			})
			if got := queues(result, names...); !equal(got, step.want) {
				t.Fatalf("queue by pod: got %v, want %v", got, step.want)
			}
		})
	}
	if n := pods[1].Requests(); n != 4 {
		t.Errorf("vllm-1 served %d requests, want 4: one per refresh while it was Ready", n)
	}
	if got := svc.Pods(); len(got) != 2 || got[0].Name != "vllm-1" || got[1].Name != "vllm-2" {
		t.Errorf("Pods after Delete: got %v, want vllm-1 and vllm-2", got)
	}
}

func TestServiceWithoutPods(t *testing.T) {
	ctx := context.Background()
	a, err := env.NewService(ctx, podscrapetest.ServiceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := env.NewService(ctx, podscrapetest.ServiceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if a.Namespace == b.Namespace || a.Name != "metrics" || a.Port == 0 {
		t.Fatalf("two default Services: got %s/%s:%d and %s/%s; want distinct namespaces, name metrics, a port",
			a.Namespace, a.Name, a.Port, b.Namespace, b.Name)
	}
	if r := refresh(t, a); len(r.Values) != 0 {
		t.Fatalf("a Service without pods: got %d values, want none", len(r.Values))
	}
	if _, err := a.AddPod(ctx, "late"); err != nil {
		t.Fatal(err)
	}
	if got := queues(refresh(t, a), "late"); got["late"] != source.ErrNoSuchMetric {
		t.Fatalf("a pod added later, serving an empty body: got %v, want ErrNoSuchMetric", got)
	}
}

// PodStatuses of a real refresh: the healthy pod's scrape details, and the failed pod's
// reason and *pod.ScrapeError, attributed through source.PodError.
func TestPodStatusesThroughSource(t *testing.T) {
	ctx := context.Background()
	svc, err := env.NewService(ctx, podscrapetest.ServiceOptions{Name: "epp", Pods: 2, Body: "# TYPE queue gauge\nqueue 3\n"})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	svc.Pod("epp-1").SetHandler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "overloaded", http.StatusServiceUnavailable)
	}))
	st := refresh(t, svc).PodStatuses()
	if len(st) != 2 {
		t.Fatalf("PodStatuses: got %+v, want 2 pods", st)
	}
	if up := st[0]; up.Pod != "epp-0" || !up.Up || up.Samples != 1 || up.Duration <= 0 || up.Reason != "" || up.Err != nil {
		t.Errorf("epp-0: got %+v, want up with 1 sample, a duration, no reason", up)
	}
	var scrapeErr *pod.ScrapeError
	if down := st[1]; down.Pod != "epp-1" || down.Up || down.Reason != pod.ReasonHTTPStatus || !errors.As(down.Err, &scrapeErr) {
		t.Errorf("epp-1: got %+v, want down, reason %s, a *pod.ScrapeError", down, pod.ReasonHTTPStatus)
	}
}
