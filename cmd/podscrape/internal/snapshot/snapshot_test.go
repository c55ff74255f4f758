package snapshot_test

import (
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/podscrape/podscrape/cmd/podscrape/internal/snapshot"
	"github.com/podscrape/podscrape/source"
	"github.com/podscrape/podscrape/source/pod"
)

var collected = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// mv builds a MetricValue of name on pod with label pairs.
func mv(name, podName string, v float64, pairs ...string) source.MetricValue {
	labels := map[string]string{"__name__": name, "pod": podName}
	for i := 0; i+1 < len(pairs); i += 2 {
		labels[pairs[i]] = pairs[i+1]
	}
	return source.MetricValue{Value: v, Timestamp: collected, Labels: labels}
}

// status returns the synthetic series of a pod.
func status(podName string, up, seconds, samples float64) []source.MetricValue {
	return []source.MetricValue{
		mv("up", podName, up), mv("scrape_duration_seconds", podName, seconds), mv("scrape_samples_scraped", podName, samples),
	}
}

// failed is the error a Refresh joins for pods that answered status code.
func failed(code int, pods ...string) error {
	var errs []error
	for _, p := range pods {
		errs = append(errs, &pod.ScrapeError{Pod: "ns/" + p, URL: "http://127.0.0.1:1/metrics", Err: &pod.StatusError{StatusCode: code}})
	}
	return errors.Join(errs...)
}

func register(t *testing.T, f snapshot.Filter) snapshot.Queries {
	t.Helper()
	q, err := f.Register(source.NewQueryList())
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func TestBuildAllMetricsSplitsSamplesAndPodStatus(t *testing.T) {
	values := slices.Concat(
		[]source.MetricValue{
			mv("b_total", "pod-b", 2),
			mv("h_bucket", "pod-b", 1, "le", "0.5"),
			mv("h_bucket", "pod-b", 3, "le", "10"),
			mv("h_bucket", "pod-b", 4, "le", "+Inf"),
			mv("a", "pod-b", 1, "z", "last", "m", "mid"),
		},
		status("pod-b", 1, 0.002, 5),
		status("pod-a", 0, 0.5, 0),
	)
	results := map[string]*source.MetricResult{pod.AllMetricsQuery: {
		QueryName: pod.AllMetricsQuery, Values: values, CollectedAt: collected, Error: failed(http.StatusUnauthorized, "pod-a"),
	}}
	got := snapshot.Build("ns/svc", results, snapshot.Filter{}, register(t, snapshot.Filter{}))

	wantPods := []snapshot.PodStatus{
		{Pod: "pod-a", Up: false, DurationSeconds: 0.5, Samples: 0,
			Error: (&pod.StatusError{StatusCode: http.StatusUnauthorized}).Error(), Reason: pod.ReasonHTTPStatus},
		{Pod: "pod-b", Up: true, DurationSeconds: 0.002, Samples: 5},
	}
	if !reflect.DeepEqual(got.Pods, wantPods) {
		t.Fatalf("pods: got %+v, want %+v", got.Pods, wantPods)
	}
	var names []string
	for _, s := range got.Samples {
		names = append(names, fmt.Sprintf("%s%v", s.Name, s.Labels))
	}
	want := []string{"a[{m mid} {z last}]", "b_total[]", "h_bucket[{le 0.5}]", "h_bucket[{le 10}]", "h_bucket[{le +Inf}]"}
	if !slices.Equal(names, want) {
		t.Fatalf("samples: got %v, want %v (sorted by name, buckets in exposition order)", names, want)
	}
	if got.Service != "ns/svc" || !got.CollectedAt.Equal(collected) || got.Up() != 1 || got.Filtered {
		t.Fatalf("got service %q collected %v up %d filtered %v, want ns/svc, %v, 1, false",
			got.Service, got.CollectedAt, got.Up(), got.Filtered, collected)
	}
}

func TestBuildMatchFiltersByName(t *testing.T) {
	values := slices.Concat(
		[]source.MetricValue{mv("vllm:num_requests_waiting", "p", 1), mv("vllm:num_requests_running", "p", 2), mv("go_goroutines", "p", 9)},
		status("p", 1, 0.1, 3),
	)
	results := map[string]*source.MetricResult{pod.AllMetricsQuery: {Values: values, CollectedAt: collected}}
	f := snapshot.Filter{Match: regexp.MustCompile(`num_requests`)}
	got := snapshot.Build("ns/svc", results, f, register(t, f))
	var names []string
	for _, s := range got.Samples {
		names = append(names, s.Name)
	}
	if want := []string{"vllm:num_requests_running", "vllm:num_requests_waiting"}; !slices.Equal(names, want) {
		t.Fatalf("samples: got %v, want %v", names, want)
	}
	if len(got.Pods) != 1 || !got.Pods[0].Up {
		t.Fatalf("pods: got %+v, want p up (the status survives the filter)", got.Pods)
	}
	if !got.Filtered {
		t.Fatal("Filtered: got false, want true with --match")
	}
}

func TestRegisterMetricsAddsStatusQueries(t *testing.T) {
	list := source.NewQueryList()
	f := snapshot.Filter{Metrics: []string{"h", "h_bucket", "h"}}
	q, err := f.Register(list)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"podscrape:metric:h", "podscrape:metric:h_bucket", "podscrape:status:up",
		"podscrape:status:scrape_duration_seconds", "podscrape:status:scrape_samples_scraped"}
	if !slices.Equal(q.Names, want) {
		t.Fatalf("queries: got %v, want %v", q.Names, want)
	}
	for _, name := range want {
		tmpl := list.Get(name)
		if tmpl == nil || tmpl.Type != source.QueryTypeMetricName {
			t.Fatalf("query %s: got %+v, want a metric-name query", name, tmpl)
		}
	}
	if _, err := f.Register(list); err == nil {
		t.Fatal("second Register on the same list: got nil, want an error")
	}
	if _, err := (snapshot.Filter{Metrics: []string{""}}).Register(source.NewQueryList()); err == nil {
		t.Fatal("Register of an empty metric name: got nil, want an error")
	}
}

func TestBuildMetricQueriesDedupesOverlaps(t *testing.T) {
	f := snapshot.Filter{Metrics: []string{"h", "h_bucket"}}
	q := register(t, f)
	bucket := mv("h_bucket", "p", 1, "le", "1")
	results := map[string]*source.MetricResult{}
	for i, name := range q.Names {
		r := &source.MetricResult{QueryName: name, CollectedAt: collected}
		switch i {
		case 0: // h: its family
			r.Values = []source.MetricValue{bucket, mv("h_sum", "p", 0.5), mv("h_count", "p", 1)}
		case 1: // h_bucket
			r.Values = []source.MetricValue{bucket}
		default:
			r.Values = []source.MetricValue{status("p", 1, 0.01, 3)[i-2]}
		}
		results[name] = r
	}
	got := snapshot.Build("ns/svc", results, f, q)
	var names []string
	for _, s := range got.Samples {
		names = append(names, s.Name)
	}
	if want := []string{"h_bucket", "h_count", "h_sum"}; !slices.Equal(names, want) {
		t.Fatalf("samples: got %v, want %v (h_bucket once)", names, want)
	}
	want := []snapshot.PodStatus{{Pod: "p", Up: true, DurationSeconds: 0.01, Samples: 3}}
	if !reflect.DeepEqual(got.Pods, want) {
		t.Fatalf("pods: got %+v, want %+v", got.Pods, want)
	}
}

func TestBuildExposedUpWithMoreLabelsIsASample(t *testing.T) {
	values := append([]source.MetricValue{mv("up", "p", 1, "job", "inner")}, status("p", 1, 0.01, 1)...)
	results := map[string]*source.MetricResult{pod.AllMetricsQuery: {Values: values, CollectedAt: collected}}
	got := snapshot.Build("ns/svc", results, snapshot.Filter{}, register(t, snapshot.Filter{}))
	if len(got.Samples) != 1 || got.Samples[0].Name != "up" || got.Samples[0].Labels[0] != (snapshot.Label{Name: "job", Value: "inner"}) {
		t.Fatalf("samples: got %+v, want the exposed up{job=inner}", got.Samples)
	}
}

// withLabels returns vs with label pairs added to each value, as a source with PodLabels
// labels every sample of a pod, its synthetic series too.
func withLabels(vs []source.MetricValue, pairs ...string) []source.MetricValue {
	for _, v := range vs {
		for i := 0; i+1 < len(pairs); i += 2 {
			v.Labels[pairs[i]] = pairs[i+1]
		}
	}
	return vs
}

// A source with PodLabels puts the mapped pod labels on the synthetic series too (as
// Prometheus puts its target labels on up): they are still each pod's status, not
// samples. Before, podscrape demo --all said "0 of 0 pods up" and "No ready pods" for
// the vLLM and SGLang Services (their pods carry llm_d_ai_variant), and without --all it
// listed every pod's up among the samples.
func TestBuildSyntheticSeriesWithPodLabelsArePodStatus(t *testing.T) {
	f := snapshot.Filter{PodLabels: []string{"llm-d.ai/variant"}}
	values := slices.Concat(
		[]source.MetricValue{mv("a", "p", 3, "llm_d_ai_variant", "v1")},
		withLabels(status("p", 1, 0.01, 2), "llm_d_ai_variant", "v1"),
		status("q", 1, 0.02, 0), // a pod without the pod label
		[]source.MetricValue{mv("up", "p", 1, "llm_d_ai_variant", "v1", "job", "inner")}, // exposed
	)
	results := map[string]*source.MetricResult{pod.AllMetricsQuery: {Values: values, CollectedAt: collected}}
	got := snapshot.Build("ns/svc", results, f, register(t, f))
	if len(got.Pods) != 2 || !got.Pods[0].Up || got.Pods[0].Samples != 2 || !got.Pods[1].Up {
		t.Errorf("pods: got %+v, want p (2 samples) and q, both up", got.Pods)
	}
	var names []string
	for _, s := range got.Samples {
		names = append(names, s.Name)
	}
	if !slices.Equal(names, []string{"a", "up"}) {
		t.Errorf("samples: got %v, want a and the exposed up{job=inner}, not the pods' status", names)
	}

	// A --metric filter: the metric's query holds each pod's up too.
	f.Metrics = []string{"a"}
	q := register(t, f)
	results = map[string]*source.MetricResult{}
	for _, name := range q.Names {
		results[name] = &source.MetricResult{CollectedAt: collected}
	}
	results[q.Names[0]].Values = slices.Concat(
		[]source.MetricValue{mv("a", "p", 3, "llm_d_ai_variant", "v1")},
		withLabels([]source.MetricValue{mv("up", "p", 1)}, "llm_d_ai_variant", "v1"),
	)
	results[q.Names[1]].Values = withLabels([]source.MetricValue{mv("up", "p", 1)}, "llm_d_ai_variant", "v1")
	got = snapshot.Build("ns/svc", results, f, q)
	if len(got.Samples) != 1 || got.Samples[0].Name != "a" {
		t.Errorf("samples with --metric a: got %+v, want only a", got.Samples)
	}
}
