package serve_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/podscrape/podscrape/podscrapetest"
	"github.com/podscrape/podscrape/serve"
)

// TestWarningsAreBounded: an answer carries at most 10 warnings, then one counting the
// others, as Prometheus' API answers its annotations ("N more warning annotations
// omitted"), whatever gives them: a query over 12 Services each with a failing pod
// (one warning per Service), instant and range, and a Service of 41 pods 40 of which
// fail, whose one warning names 10 pods and counts the rest. Before, the answer carried
// one warning per Service read, without bound (a --config of hundreds of Services, a
// fleet-wide outage: hundreds of warnings in every answer, in Grafana's and KEDA's logs).
func TestWarningsAreBounded(t *testing.T) {
	var services []serve.ServiceConfig
	for i := range 12 {
		svc := newService(t, fmt.Sprintf("vllm-%d", i), 2, waiting)
		svc.Pods()[1].SetHandler(failing)
		services = append(services, serviceConfig(svc))
	}
	big := newService(t, "big", 41, waiting)
	for _, p := range big.Pods()[1:] {
		p.SetHandler(failing)
	}
	services = append(services, serviceConfig(big))
	base := startServer(t, serve.Config{Services: services})

	const omitted = "3 more warning annotations omitted"
	checkBounded := func(what string, code int, r apiResponse) {
		t.Helper()
		if code != http.StatusOK {
			t.Fatalf("%s: %d %q, want 200", what, code, r.Error)
		}
		if len(r.Warnings) != 11 || r.Warnings[10] != omitted {
			t.Errorf("%s: %d warnings %q, want the first 10 and %q", what, len(r.Warnings), r.Warnings, omitted)
		}
		for _, w := range r.Warnings[:min(len(r.Warnings), 10)] {
			if !strings.Contains(w, "1 of 2 pods failed its latest scrape") && !strings.Contains(w, "40 of 41 pods failed") {
				t.Errorf("%s: warning %q, want one naming a Service's failed pods", what, w)
			}
		}
	}
	// 13 Services read, each with failed pods: 13 warnings, 10 kept.
	code, r := query(t, base, "sum(vllm:num_requests_waiting)")
	checkBounded("instant query", code, r)
	if v := vector(t, r); len(v) != 1 || v[0].Value[1] != "39" {
		t.Errorf("sum over the 13 pods up: %s, want 39", r.Data)
	}
	now := time.Now()
	code, r = call(t, http.MethodGet, base, "/api/v1/query_range", url.Values{"query": {"sum(vllm:num_requests_waiting)"},
		"start": {fmt.Sprint(now.Add(-time.Minute).Unix())}, "end": {fmt.Sprint(now.Unix())}, "step": {"15"}})
	checkBounded("range query", code, r)

	// The big Service alone: one warning, naming 10 of its 40 failed pods.
	code, r = query(t, base, fmt.Sprintf(`sum(vllm:num_requests_waiting{job=%q})`, big.Name))
	if code != http.StatusOK || len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "40 of 41 pods failed") ||
		!strings.HasSuffix(r.Warnings[0], "; and 30 more pods (each in /api/v1/targets)") || strings.Count(r.Warnings[0], "pod "+big.Name) != 10 {
		t.Errorf("40 of 41 pods failing: %d %q, want one warning naming 10 pods and counting 30 more", code, r.Warnings)
	}
	if n := len(strings.Join(r.Warnings, "")); n > 4096 {
		t.Errorf("40 of 41 pods failing: warnings of %d bytes, want them bounded", n)
	}
}

// TestMissingPodsAreWarnedBeforeLateServices: the warnings that pods are missing from an
// answer (failed their scrape, not Ready) come before those that a Service's scrape
// under --max-age did not finish in time, so that the bound of 10 never cuts them: a
// query across 10 Services whose scrape hangs past its timeout and one whose pod failed
// warned of the 10 late Services and counted the failed pod among "1 more warning
// annotations omitted": the autoscaler read a sum short of a pod with nothing naming it.
func TestMissingPodsAreWarnedBeforeLateServices(t *testing.T) {
	var services []serve.ServiceConfig
	var late []*podscrapetest.Service
	for i := range 10 {
		svc := newService(t, fmt.Sprintf("late-%d", i), 1, waiting)
		late = append(late, svc)
		services = append(services, serviceConfig(svc))
	}
	failed := newService(t, "failed", 2, waiting)
	services = append(services, serviceConfig(failed))
	base := startServer(t, serve.Config{Services: services, MaxAge: time.Nanosecond})

	hung := make(chan struct{})
	t.Cleanup(func() { close(hung) })
	for _, svc := range late {
		svc.Pods()[0].SetHandler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-hung }))
	}
	failed.Pods()[1].SetHandler(failing)

	code, r := call(t, http.MethodGet, base, "/api/v1/query", url.Values{"query": {"sum(vllm:num_requests_waiting)"}, "timeout": {"0.5"}})
	if v := vector(t, r); code != http.StatusOK || len(v) != 1 || v[0].Value[1] != "33" {
		t.Fatalf("got %d %q %s, want 200 and 33: the late Services' latest scrapes and the failed Service's pod up", code, r.Error, r.Data)
	}
	if len(r.Warnings) != 11 || r.Warnings[10] != "1 more warning annotations omitted" {
		t.Errorf("%d warnings %q, want 10 and one counting the 11th", len(r.Warnings), r.Warnings)
	}
	if len(r.Warnings) == 0 || !strings.HasPrefix(r.Warnings[0], "service "+failed.Namespace+"/"+failed.Name+": 1 of 2 pods failed its latest scrape") {
		t.Errorf("warnings %q, want the first naming service %s/%s's failed pod", r.Warnings, failed.Namespace, failed.Name)
	}
	for _, w := range r.Warnings[min(1, len(r.Warnings)):min(10, len(r.Warnings))] {
		if !strings.Contains(w, "did not finish within the query's timeout of 500ms") {
			t.Errorf("warning %q, want the late Services' after the failed pod's", w)
		}
	}
}
