package e2e

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

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
	if got := names(results["waiting"]); !slices.Equal(got, []string{"up", "vllm:num_requests_waiting"}) {
		t.Fatalf("waiting: got %v, want the metric and the pod's up", got)
	}
	want := []string{"up", "vllm:e2e_request_latency_seconds_bucket", "vllm:e2e_request_latency_seconds_count", "vllm:e2e_request_latency_seconds_sum"}
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
	if got := results["waiting"].Values; len(got) != 2 || got[0].Labels["model_name"] != "fake-model" || got[1].Labels["__name__"] != "up" {
		t.Fatalf("waiting: got %v, want the one sample of fake-model, then the pod's up", got)
	}
}

// A metric-name result alone tells a pod without the metric (up 1, no sample) from a
// pod that did not answer (up 0): each pod's up follows its samples.
func TestQueryMetricNameResultCarriesEachPodsUp(t *testing.T) {
	t.Parallel()
	f := startService(t,
		podDef{name: "has", handler: serve([]byte("queue{pool=\"a\"} 3\nqueue{pool=\"b\"} 4\nother 1\n"))},
		podDef{name: "lacks", handler: serve([]byte("other 1\n"))},
		podDef{name: "down", handler: failWith(http.StatusServiceUnavailable)},
	)
	s := newSource(t, f.config())
	s.QueryList().MustRegister(source.QueryTemplate{Name: "queue", Type: source.QueryTypeMetricName, Template: "queue"})
	results, err := refresh(t, s, "queue")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range results["queue"].Values {
		got = append(got, fmt.Sprintf("%s %s %s=%v", v.Labels["pod"], v.Labels["__name__"], v.Labels["pool"], v.Value))
	}
	want := []string{"down up =0", "has queue a=3", "has queue b=4", "has up =1", "lacks up =1"}
	if !slices.Equal(got, want) {
		t.Fatalf("queue result: got %q, want %q", got, want)
	}
	var se *pod.ScrapeError
	if !errors.As(results["queue"].Error, &se) || !strings.HasSuffix(se.Pod, "/down") {
		t.Fatalf("queue result's error: got %v, want the down pod's", results["queue"].Error)
	}
}

func TestQueryUnknownAndPromQL(t *testing.T) {
	t.Parallel()
	f := startService(t, podDef{name: "p", handler: serve([]byte("m 1\n"))})
	s := newSource(t, f.config())
	if _, err := refresh(t, s, "nope"); err == nil || !strings.Contains(err.Error(), `unknown query "nope" (registered: all_metrics)`) {
		t.Fatalf("unknown query: got %v, want an error naming it and listing the registered ones", err)
	}
	// PromQL is answered (see promql_test.go) from the same scrape as all_metrics.
	s.QueryList().MustRegister(source.QueryTemplate{Name: "promql", Type: source.QueryTypePromQL, Template: "sum(m)"})
	results, err := refresh(t, s, "promql", pod.AllMetricsQuery)
	if err != nil {
		t.Fatal(err)
	}
	if r := results["promql"]; r.Error != nil || len(r.Values) != 1 || r.Values[0].Value != 1 {
		t.Fatalf("promql query: got %+v, want sum(m) = 1", r)
	}
	if results[pod.AllMetricsQuery].Error != nil {
		t.Fatalf("all_metrics alongside: got %v, want no error", results[pod.AllMetricsQuery].Error)
	}
}

// The guide's Refresh: "Empty = refresh all registered queries", and one refresh updates
// the cache of each ("Cache is shared across all queries"): an empty RefreshSpec answers
// every registered query from one scrape of each pod, and Get then finds each result,
// collected together.
func TestQueryEmptySpecRefreshesEveryRegisteredQuery(t *testing.T) {
	t.Parallel()
	a, b := &recorder{body: []byte("queue 3\nkv 0.5\nother 1\n")}, &recorder{body: []byte("queue 4\nkv 0.25\n")}
	f := startService(t, podDef{name: "a", handler: a}, podDef{name: "b", handler: b})
	s := newSource(t, f.config())
	for _, name := range []string{"queue", "kv"} {
		s.QueryList().MustRegister(source.QueryTemplate{Name: name, Type: source.QueryTypeMetricName, Template: name})
	}
	results, err := refresh(t, s)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := slices.Sorted(maps.Keys(results)), []string{pod.AllMetricsQuery, "kv", "queue"}; !slices.Equal(got, want) {
		t.Fatalf("results of an empty RefreshSpec: got %v, want every registered query %v", got, want)
	}
	if n := len(a.seen()) + len(b.seen()); n != 2 {
		t.Fatalf("requests: got %d, want one per pod for the three queries", n)
	}
	for name, want := range map[string][]string{
		"queue":             {"a queue 3", "a up 1", "b queue 4", "b up 1"},
		"kv":                {"a kv 0.5", "a up 1", "b kv 0.25", "b up 1"},
		pod.AllMetricsQuery: nil, // every sample: checked by the samples tests
	} {
		r := results[name]
		if r == nil || r.Error != nil || r.QueryName != name {
			t.Fatalf("%s: got %+v, want a result of that name without error", name, r)
		}
		if want != nil {
			var got []string
			for _, v := range r.Values {
				got = append(got, fmt.Sprintf("%s %s %v", v.Labels["pod"], v.Labels["__name__"], v.Value))
			}
			if !slices.Equal(got, want) {
				t.Fatalf("%s: got %q, want %q", name, got, want)
			}
		}
		cached := s.Get(name, nil)
		if cached == nil || !cached.Result.CollectedAt.Equal(r.CollectedAt) || len(cached.Result.Values) != len(r.Values) {
			t.Fatalf("Get(%q) after the refresh: got %+v, want the result the refresh returned", name, cached)
		}
	}
	if !results["queue"].CollectedAt.Equal(results["kv"].CollectedAt) || !results["kv"].CollectedAt.Equal(results[pod.AllMetricsQuery].CollectedAt) {
		t.Fatal("CollectedAt differs between the results of one refresh: want one collection")
	}
}

// The guide's Refresh: Params are "not used for pod scraping". Params given to a refresh
// of metric-name queries and all_metrics change neither what is scraped nor the answer,
// and the results are cached under their names alone: Get finds them with no params and
// with any others.
func TestQueryParamsAreNotUsedByMetricNameQueries(t *testing.T) {
	t.Parallel()
	rec := &recorder{body: []byte("queue 3\n")}
	f := startService(t, podDef{name: "p", handler: rec})
	s := newSource(t, f.config())
	s.QueryList().MustRegister(source.QueryTemplate{Name: "queue", Type: source.QueryTypeMetricName, Template: "queue"})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	params := map[string]string{source.ParamNamespace: "elsewhere", source.ParamModelID: "m", "metric": "other"}
	results, err := s.Refresh(ctx, source.RefreshSpec{Queries: []string{"queue", pod.AllMetricsQuery}, Params: params})
	if err != nil {
		t.Fatal(err)
	}
	if seen := rec.seen(); len(seen) != 1 || seen[0].URL.String() != "/metrics" {
		t.Fatalf("requests: got %d, want one to /metrics (the params add nothing to it)", len(seen))
	}
	if got := results["queue"].Values; len(got) != 2 || got[0].Labels["__name__"] != "queue" || got[0].Value != 3 {
		t.Fatalf("queue with params: got %v, want queue 3 and the pod's up", got)
	}
	for _, name := range []string{"queue", pod.AllMetricsQuery} {
		for _, p := range []map[string]string{nil, params, {"any": "thing"}} {
			if c := s.Get(name, p); c == nil || !c.Result.CollectedAt.Equal(results[name].CollectedAt) {
				t.Fatalf("Get(%q, %v): got %v, want the result refreshed with other params", name, p, c)
			}
		}
	}
}
