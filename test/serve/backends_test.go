package serve

import (
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"

	"github.com/podscrape/podscrape/podscrapetest"
	"github.com/podscrape/podscrape/serve"
	"github.com/podscrape/podscrape/source"
	"github.com/podscrape/podscrape/source/pod"
	promsource "github.com/podscrape/podscrape/source/prometheus"
)

// body is what pod i exposes: distinct values per pod, so a wrong pod shows.
func body(i int) string {
	return fmt.Sprintf(`# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{model_name="m"} %d
# TYPE vllm:kv_cache_usage_perc gauge
vllm:kv_cache_usage_perc{model_name="m"} 0.%d5
`, i+2, i+1)
}

// sameQueries are asked through both backends.
var sameQueries = map[string]string{
	"waiting_sum":   `sum(vllm:num_requests_waiting{model_name="{{.model}}"})`,
	"waiting_bypod": `max by (pod) (vllm:num_requests_waiting{model_name="{{.model}}"})`,
	"kv_bypod":      `avg by (pod) (vllm:kv_cache_usage_perc)`,
	"kv_max":        `max(vllm:kv_cache_usage_perc) * 100`,
}

// byPod maps a result's values by pod ("" for an aggregate).
func byPod(r *source.MetricResult) map[string]float64 {
	out := map[string]float64{}
	for _, v := range r.Values {
		out[v.Labels["pod"]] = v.Value
	}
	return out
}

func TestPrometheusSourceOnServeAnswersAsThePodSource(t *testing.T) {
	svc := newService(t, podscrapetest.ServiceOptions{Name: "vllm", Pods: 2})
	for i, p := range svc.Pods() {
		p.SetBody(body(i))
	}
	base := startServe(t, serve.Config{Services: []serve.ServiceConfig{{Source: sourceConfig(svc)}}, MaxAge: time.Nanosecond})

	podSrc, err := pod.NewPodScrapingSource(t.Context(), env.Client, sourceConfig(svc))
	if err != nil {
		t.Fatal(err)
	}
	defer podSrc.Close()
	client, err := api.NewClient(api.Config{Address: base})
	if err != nil {
		t.Fatal(err)
	}
	promSrc := promsource.NewPrometheusSource(t.Context(), v1.NewAPI(client), promsource.PrometheusSourceConfig{})
	for name, q := range sameQueries {
		for _, l := range []*source.QueryList{podSrc.QueryList(), promSrc.QueryList()} {
			l.MustRegister(source.QueryTemplate{Name: name, Type: source.QueryTypePromQL, Template: q})
		}
	}
	names := make([]string, 0, len(sameQueries))
	for name := range sameQueries {
		names = append(names, name)
	}
	spec := source.RefreshSpec{Queries: names, Params: map[string]string{"model": "m"}}
	fromPods, err := podSrc.Refresh(t.Context(), spec)
	if err != nil {
		t.Fatal(err)
	}
	fromServe, err := promSrc.Refresh(t.Context(), spec)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		got, want := byPod(fromServe[name]), byPod(fromPods[name])
		if fromServe[name].Error != nil || fromPods[name].Error != nil {
			t.Errorf("%s: errors serve %v, pods %v", name, fromServe[name].Error, fromPods[name].Error)
		}
		if len(want) == 0 || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: through serve %v, through the pod source %v", name, got, want)
		}
	}

	// Every pod failing: an error through both, never an empty answer.
	for _, p := range svc.Pods() {
		p.SetHandler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "down", http.StatusServiceUnavailable) }))
	}
	_, podErr := podSrc.Refresh(t.Context(), spec)
	served, serveErr := promSrc.Refresh(t.Context(), spec)
	if !errors.Is(podErr, pod.ErrAllPodsFailed) {
		t.Errorf("pod source: %v, want ErrAllPodsFailed", podErr)
	}
	if serveErr == nil {
		t.Fatalf("PrometheusSource over serve: nil error with every pod down; results %v", served)
	}
	var qe *promsource.QueryError
	if r := served["waiting_sum"]; r == nil || !errors.As(r.Error, &qe) || len(r.Values) != 0 {
		t.Errorf("waiting_sum over serve: %+v, want a QueryError and no values", r)
	}
}
