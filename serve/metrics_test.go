package serve_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/podscrape/podscrape/serve"
)

// counterValue is the value of counter name{service=service} in reg, and whether reg
// exports it.
func counterValue(t *testing.T, reg prometheus.Gatherer, name, service string) (float64, bool) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "service" && l.GetValue() == service {
					return m.GetCounter().GetValue(), true
				}
			}
		}
	}
	return 0, false
}

// A Service's podscrape_serve_scrapes_unavailable_total is exported at 0 before its first
// outage, so that increase(...[5m]) > 0 sees that outage (a series born at 1 has no
// baseline), and counts it.
func TestUnavailableCounterStartsAtZero(t *testing.T) {
	svc := newService(t, "vllm", 1, waiting)
	reg := prometheus.NewRegistry()
	base := startServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}, Registerer: reg, MaxAge: time.Nanosecond})
	key := svc.Namespace + "/" + svc.Name
	const name = "podscrape_serve_scrapes_unavailable_total"
	if v, ok := counterValue(t, reg, name, key); !ok || v != 0 {
		t.Errorf("before any outage: %s{service=%q} = %v (exported: %v), want 0, exported", name, key, v, ok)
	}
	svc.Pods()[0].SetHandler(failing)
	if code, r := query(t, base, "sum(vllm:num_requests_waiting)"); code != http.StatusServiceUnavailable {
		t.Fatalf("every pod failing: got %d %q, want 503", code, r.Error)
	}
	if v, _ := counterValue(t, reg, name, key); v != 1 {
		t.Errorf("after one outage: %s{service=%q} = %v, want 1", name, key, v)
	}
}
