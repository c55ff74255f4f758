package e2e

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/podscrape/podscrape/source"
	"github.com/podscrape/podscrape/source/pod"
)

func TestQueryMetricNameSelectsOnlyThatMetricFromOneScrape(t *testing.T) {
	t.Parallel()
	rec := &recorder{body: fixture(t, "vllm-sim-metrics.txt")}
	f := startService(t, podDef{name: "p", handler: rec})
	s := newSource(t, f.config())
	for _, q := range []source.QueryTemplate{
		{Name: "waiting", Type: source.QueryTypeMetricName, Template: "vllm:num_requests_waiting"},
		{Name: "latency", Type: source.QueryTypeMetricName, Template: "vllm:e2e_request_latency_seconds"},
		{Name: "up", Type: source.QueryTypeMetricName, Template: "up"},
	} {
		s.QueryList().MustRegister(q)
	}

	results, err := refresh(t, s, "waiting", "latency", "up", pod.AllMetricsQuery)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(rec.seen()); n != 1 {
		t.Fatalf("requests for 4 queries: got %d, want 1 scrape", n)
	}
	names := func(r *source.MetricResult) []string {
		var out []string
		for _, v := range r.Values {
			out = append(out, v.Labels["__name__"])
		}
		return slices.Compact(slices.Sorted(slices.Values(out)))
	}
	if got := names(results["waiting"]); !slices.Equal(got, []string{"vllm:num_requests_waiting"}) {
		t.Fatalf("waiting: got %v", got)
	}
	want := []string{"vllm:e2e_request_latency_seconds_bucket", "vllm:e2e_request_latency_seconds_count", "vllm:e2e_request_latency_seconds_sum"}
	if got := names(results["latency"]); !slices.Equal(got, want) {
		t.Fatalf("latency (a histogram family): got %v, want %v", got, want)
	}
	if got := results["up"].Values; len(got) != 1 || got[0].Value != 1 {
		t.Fatalf("up: got %v, want one up 1", got)
	}
	if len(results[pod.AllMetricsQuery].Values) <= len(results["latency"].Values) {
		t.Fatal("all_metrics: want every sample")
	}
	for name := range results {
		if s.Get(name, nil) == nil {
			t.Fatalf("Get(%q) after the refresh: got nil, want the cached result", name)
		}
	}
}

func TestQueryOnlyNamedMetricsSkipsTheRest(t *testing.T) {
	t.Parallel()
	f := startService(t, podDef{name: "p", handler: serve(fixture(t, "vllm-sim-metrics.txt"))})
	s := newSource(t, f.config())
	s.QueryList().MustRegister(source.QueryTemplate{Name: "waiting", Type: source.QueryTypeMetricName, Template: "vllm:num_requests_waiting"})
	results, err := refresh(t, s, "waiting")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := results[pod.AllMetricsQuery]; ok || len(results) != 1 {
		t.Fatalf("results: got %v, want only waiting", results)
	}
	if got := results["waiting"].Values; len(got) != 1 || got[0].Labels["model_name"] != "fake-model" {
		t.Fatalf("waiting: got %v, want the one sample of fake-model", got)
	}
}

func TestQueryUnknownAndUnsupported(t *testing.T) {
	t.Parallel()
	f := startService(t, podDef{name: "p", handler: serve([]byte("m 1\n"))})
	s := newSource(t, f.config())
	if _, err := refresh(t, s, "nope"); err == nil || !strings.Contains(err.Error(), `unknown query "nope"`) {
		t.Fatalf("unknown query: got %v, want an error naming it", err)
	}
	s.QueryList().MustRegister(source.QueryTemplate{Name: "promql", Type: source.QueryTypePromQL, Template: "sum(m)"})
	results, err := refresh(t, s, "promql", pod.AllMetricsQuery)
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(results["promql"].Error, pod.ErrUnsupportedQuery) {
		t.Fatalf("promql query: got %v, want ErrUnsupportedQuery", results["promql"].Error)
	}
	if results[pod.AllMetricsQuery].Error != nil {
		t.Fatalf("all_metrics alongside: got %v, want no error", results[pod.AllMetricsQuery].Error)
	}
}
