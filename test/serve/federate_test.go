package serve

import (
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/podscrape/podscrape/podscrapetest"
	"github.com/podscrape/podscrape/serve"
)

// TestPrometheusFederatesTwoServes is the path past one replica: two serve processes,
// each with its own Services, and the real Prometheus server federating both through
// /federate into one place, where their series are queried together.
func TestPrometheusFederatesTwoServes(t *testing.T) {
	vllm := newService(t, podscrapetest.ServiceOptions{Name: "vllm", Pods: 2, Body: "# TYPE vllm:num_requests_waiting gauge\nvllm:num_requests_waiting 3\n"})
	sglang := newService(t, podscrapetest.ServiceOptions{Name: "sglang", Pods: 1, Body: "# TYPE sglang:num_queue_reqs gauge\nsglang:num_queue_reqs 5\n"})
	a := startServe(t, serve.Config{Services: []serve.ServiceConfig{{Source: sourceConfig(vllm)}}, Interval: time.Second})
	b := startServe(t, serve.Config{Services: []serve.ServiceConfig{{Source: sourceConfig(sglang)}}, Interval: time.Second})
	ua, _ := url.Parse(a)
	ub, _ := url.Parse(b)
	prom := startPrometheus(t, fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
- job_name: podscrape-serve
  honor_labels: true
  metrics_path: /federate
  params:
    'match[]': ['{job=~".+"}']
  static_configs:
  - targets: [%q, %q]
`, ua.Host, ub.Host))

	deadline := time.Now().Add(time.Minute)
	for {
		v, _, _, err := prom.API.Query(t.Context(), `sum by (job, namespace) (vllm:num_requests_waiting or sglang:num_queue_reqs)`, time.Now())
		got := map[string]float64{}
		if err == nil {
			for _, s := range v.(model.Vector) {
				got[string(s.Metric["job"])+" "+string(s.Metric["namespace"])] = float64(s.Value)
			}
		}
		want := map[string]float64{"vllm " + vllm.Namespace: 6, "sglang " + sglang.Namespace: 5}
		if fmt.Sprint(got) == fmt.Sprint(want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("federated sums: got %v (%v), want %v", got, err, want)
		}
		time.Sleep(100 * time.Millisecond) // polling Prometheus' answer
	}
	// Per pod, with serve's labels kept (honor_labels).
	v, _, _, err := prom.API.Query(t.Context(), `count by (pod) (vllm:num_requests_waiting{job="vllm"})`, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if n := len(v.(model.Vector)); n != 2 {
		t.Errorf("federated vllm pods: %d, want 2: %v", n, v)
	}
}
