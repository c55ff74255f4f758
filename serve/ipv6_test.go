package serve_test

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podscrape/podscrape/internal/localcluster"
	"github.com/podscrape/podscrape/serve"
)

// TestIPv6PodIsNamedAsPrometheusNamesIt: a pod at ::1 is scraped at [::1]:<port>; its
// series' instance, its target's labels, __address__ and scrapeUrl bracket the address
// as Prometheus' pod discovery writes them, up or down.
func TestIPv6PodIsNamedAsPrometheusNamesIt(t *testing.T) {
	if ln, err := net.Listen("tcp", "[::1]:0"); err != nil {
		t.Skipf("this machine has no IPv6 loopback: %v", err)
	} else {
		_ = ln.Close()
	}
	var failing atomic.Bool
	srv, err := localcluster.Serve("::1", 0, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if failing.Load() {
			http.Error(w, "down", http.StatusInternalServerError)
			return
		}
		_, _ = w.Write([]byte("m 1\n"))
	}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	svc := newService(t, "vllm", 0, waiting)
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: svc.Namespace, Name: "vllm-v6", Labels: map[string]string{"app": svc.Name}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "vllm", Image: "x"}}},
	}
	if err := env.Client.Create(t.Context(), p); err != nil {
		t.Fatal(err)
	}
	p.Status = corev1.PodStatus{
		Phase: corev1.PodRunning, PodIP: "::1", PodIPs: []corev1.PodIP{{IP: "::1"}},
		Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}},
	}
	if err := env.Client.Status().Update(t.Context(), p); err != nil {
		t.Fatal(err)
	}
	cfg := serviceConfig(svc)
	cfg.Source.MetricsPort = int32(srv.Port)
	base := startServer(t, serve.Config{Services: []serve.ServiceConfig{cfg}, MaxAge: time.Nanosecond})

	addr := fmt.Sprintf("[::1]:%d", srv.Port)
	wantURL := "http://" + addr + "/metrics"
	for _, c := range []struct {
		name, health string
		up           string
	}{{"up", "up", "1"}, {"down", "down", "0"}} {
		failing.Store(c.health == "down")
		code, r := query(t, base, "up") // scrapes it (MaxAge)
		if code != http.StatusOK && c.health == "up" {
			t.Fatalf("%s: up: %d %s", c.name, code, r.Error)
		}
		if c.health == "up" {
			v := vector(t, r)
			if len(v) != 1 || v[0].Metric["instance"] != addr || v[0].Value[1] != c.up {
				t.Errorf("%s: up = %v, want one sample %s with instance %s", c.name, v, c.up, addr)
			}
		}
		_, tr := call(t, http.MethodGet, base, "/api/v1/targets", nil)
		var d struct {
			ActiveTargets []struct {
				DiscoveredLabels map[string]string `json:"discoveredLabels"`
				Labels           map[string]string `json:"labels"`
				ScrapeURL        string            `json:"scrapeUrl"`
				Health           string            `json:"health"`
			} `json:"activeTargets"`
		}
		if err := json.Unmarshal(tr.Data, &d); err != nil {
			t.Fatal(err)
		}
		if len(d.ActiveTargets) != 1 {
			t.Fatalf("%s: targets %s, want one", c.name, tr.Data)
		}
		tg := d.ActiveTargets[0]
		if tg.Health != c.health || tg.ScrapeURL != wantURL || tg.Labels["instance"] != addr || tg.DiscoveredLabels["__address__"] != addr {
			t.Errorf("%s: target health %s, scrapeUrl %q, instance %q, __address__ %q; want %s, %q and %q twice",
				c.name, tg.Health, tg.ScrapeURL, tg.Labels["instance"], tg.DiscoveredLabels["__address__"], c.health, wantURL, addr)
		}
	}
}
