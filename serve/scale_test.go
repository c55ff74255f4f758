package serve_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/podscrape/podscrape/serve"
)

// TestFailedPodsNamedWithinABound: a Service of many pods, many of them failing (a bad
// rollout of a 2,000-pod Service), must not make every query's answer carry every failed
// pod's error: each warning and 503 named them all, about 200 bytes a pod, 200 KB an
// answer for 1,000 pods, on every KEDA poll and dashboard panel (and in their logs).
// As Prometheus' API answers at most 10 of a query's warnings and says how many more
// there were, serve names the first 10 pods and counts the others;
// /api/v1/targets has each pod's error.
func TestFailedPodsNamedWithinABound(t *testing.T) {
	const pods, failing = 40, 30
	some := newService(t, "some", pods, waiting)
	all := newService(t, "all", pods, waiting)
	boom := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "boom", http.StatusInternalServerError) })
	for i, p := range some.Pods() {
		if i < failing {
			p.SetHandler(boom)
		}
	}
	for _, p := range all.Pods() {
		p.SetHandler(boom)
	}
	base := startServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(some), serviceConfig(all)}})

	named := func(text string) int { return strings.Count(text, "HTTP status 500") }
	code, r := query(t, base, `sum(vllm:num_requests_waiting{job="some"})`)
	if code != http.StatusOK || len(r.Warnings) != 1 {
		t.Fatalf("some pods failing: %d %q, warnings %q; want 200 and one warning", code, r.Error, r.Warnings)
	}
	w := r.Warnings[0]
	if n := named(w); n != 10 || !strings.Contains(w, "30 of 40 pods failed") || !strings.Contains(w, "and 20 more") || len(w) > 4<<10 {
		t.Errorf("warning of %d bytes names %d pods' errors: %q; want 10 of them, \"30 of 40 pods failed\" and \"and 20 more\"", len(w), n, w)
	}

	code, r = query(t, base, `sum(vllm:num_requests_waiting{job="all"})`)
	if code != http.StatusServiceUnavailable || r.ErrorType != "unavailable" {
		t.Fatalf("every pod failing: %d %s %q; want 503 unavailable", code, r.ErrorType, r.Error)
	}
	if n := named(r.Error); n != 10 || !strings.Contains(r.Error, "and 30 more") || len(r.Error) > 4<<10 {
		t.Errorf("error of %d bytes names %d pods' errors: %q; want 10 of them and \"and 30 more\"", len(r.Error), n, r.Error)
	}
}

// TestPodOverSampleLimitFailsAlone: a pod of a Service over its sampleLimit (a
// cardinality explosion) fails alone, as its target would in Prometheus: the others'
// samples answer, a warning names the pod with how many samples it has, and its
// scrape_samples_scraped is that count.
func TestPodOverSampleLimitFailsAlone(t *testing.T) {
	svc := newService(t, "vllm", 3, waiting)
	var b strings.Builder
	b.WriteString(waiting)
	for i := range 5 {
		fmt.Fprintf(&b, "inflight{request_id=\"%d\"} 1\n", i)
	}
	svc.Pods()[2].SetBody(b.String())
	sc := serviceConfig(svc)
	sc.Source.SampleLimit = 3
	base := startServer(t, serve.Config{Services: []serve.ServiceConfig{sc}})

	code, r := query(t, base, `sum(vllm:num_requests_waiting)`)
	if v := vector(t, r); code != http.StatusOK || len(v) != 1 || v[0].Value[1] != "6" {
		t.Fatalf("got %d %q %v, want 6 from the two pods within the limit", code, r.Error, v)
	}
	if len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "pod "+svc.Pods()[2].Name+": ") ||
		!strings.Contains(r.Warnings[0], "sample limit exceeded: 6 samples, more than the limit of 3") {
		t.Errorf("warnings %q, want one naming pod %s, its 6 samples and the limit 3", r.Warnings, svc.Pods()[2].Name)
	}
	code, r = query(t, base, `scrape_samples_scraped{pod="`+svc.Pods()[2].Name+`"}`)
	if v := vector(t, r); code != http.StatusOK || len(v) != 1 || v[0].Value[1] != "6" {
		t.Errorf("scrape_samples_scraped of the pod over the limit: %d %v, want 6", code, v)
	}
}

// TestServiceSeriesLimitIsItsOwn: a Service's own SeriesLimit (a config file's
// seriesLimit) bounds its history instead of Config.SeriesLimit: a Service of 2,000 vLLM
// pods (about 250 series each) needs 500,000 where its neighbours need the default
// 100,000, and `podscrape serve --config` had no way to raise it: every answer of such a
// Service missed the series past the limit (a new pod's all), with a warning.
func TestServiceSeriesLimitIsItsOwn(t *testing.T) {
	big := newService(t, "big", 1, waiting)
	small := newService(t, "small", 1, waiting)
	bigCfg := serviceConfig(big)
	bigCfg.SeriesLimit = 1000
	base := startServer(t, serve.Config{Services: []serve.ServiceConfig{bigCfg, serviceConfig(small)}, SeriesLimit: 2})
	code, r := query(t, base, `sum(vllm:num_requests_waiting{job="big"})`)
	if code != http.StatusOK || len(r.Warnings) != 0 {
		t.Errorf("the Service with its own limit: %d %q, warnings %q; want 200 and none", code, r.Error, r.Warnings)
	}
	code, r = query(t, base, `sum(vllm:num_requests_waiting{job="small"})`)
	if code != http.StatusOK || len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "series limit reached (2 series)") {
		t.Errorf("the Service with the server's limit: %d %q, warnings %q; want the series limit of 2", code, r.Error, r.Warnings)
	}
	if _, err := serve.New(t.Context(), env.Client, serve.Config{Services: []serve.ServiceConfig{func() serve.ServiceConfig {
		c := serviceConfig(big)
		c.SeriesLimit = -1
		return c
	}()}}); err == nil || !strings.Contains(err.Error(), "SeriesLimit must not be negative") {
		t.Errorf("a negative SeriesLimit: %v, want it refused naming it", err)
	}
}
