package serve_test

import (
	"net/http"
	"os"
	"regexp"
	"strings"
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

// TestServeDocListsItsMetrics holds docs/serve.md's list of what /metrics exports to the
// families serve registers: every podscrape_* family is named there, with each label
// but service inside its braces, so an operator's alert is written against names and
// labels that exist.
func TestServeDocListsItsMetrics(t *testing.T) {
	svc := newService(t, "vllm", 1, waiting)
	reg := prometheus.NewRegistry()
	base := startServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}, Registerer: reg, MaxAge: time.Nanosecond})
	if code, r := query(t, base, "sum(vllm:num_requests_waiting)"); code != http.StatusOK {
		t.Fatalf("query: got %d %q, want 200", code, r.Error)
	}
	doc, err := os.ReadFile("../docs/serve.md")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Join(strings.Fields(string(doc)), " ")
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var serves int
	for _, mf := range mfs {
		name := mf.GetName()
		if !strings.HasPrefix(name, "podscrape_") {
			t.Errorf("/metrics exports %s: docs/serve.md says it exports podscrape_* families only", name)
			continue
		}
		if strings.HasPrefix(name, "podscrape_serve_") {
			serves++
		}
		if !strings.Contains(text, "`"+name) {
			t.Errorf("docs/serve.md does not name %s, which /metrics exports", name)
			continue
		}
		labels := map[string]bool{}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() != "service" {
					labels[l.GetName()] = true
				}
			}
		}
		for l := range labels {
			if !regexp.MustCompile("`" + regexp.QuoteMeta(name) + `\{[^}` + "`" + `]*\b` + regexp.QuoteMeta(l) + `\b`).MatchString(text) {
				t.Errorf("docs/serve.md names %s without its label %s", name, l)
			}
		}
	}
	if serves < 5 {
		t.Errorf("/metrics exports %d podscrape_serve_* families, want the 5 docs/serve.md lists", serves)
	}
}
