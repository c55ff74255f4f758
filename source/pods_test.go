package source

import (
	"errors"
	"fmt"
	"slices"
	"testing"
)

// sample is a value of metric from pod.
func sample(metric, pod string, v float64) MetricValue {
	return MetricValue{Value: v, Labels: map[string]string{LabelName: metric, LabelPod: pod}}
}

// testPodError is a PodError as a scraping source would join it.
type testPodError struct {
	pod, reason string
	err         error
}

func (e *testPodError) Error() string   { return fmt.Sprintf("scrape pod ns/%s: %v", e.pod, e.err) }
func (e *testPodError) Unwrap() error   { return e.err }
func (e *testPodError) PodName() string { return e.pod }
func (e *testPodError) Reason() string  { return e.reason }

var errRefused = errors.New("connection refused")

// refreshResult is what a scrape of three pods gives: a answered with a queue, b answered
// without one, c failed.
func refreshResult() *MetricResult {
	return &MetricResult{
		Values: []MetricValue{
			sample("queue", "a", 3), sample("queue", "a", 4), sample(MetricUp, "a", 1),
			sample("kv", "b", 0.5), sample(MetricUp, "b", 1),
			sample(MetricUp, "c", 0),
			{Value: 9, Labels: map[string]string{LabelName: "queue"}}, // no pod label
		},
		Error: errors.Join(&testPodError{pod: "c", reason: "connect", err: errRefused}),
	}
}

func TestValuesByPod(t *testing.T) {
	got := refreshResult().ValuesByPod("queue")
	if len(got) != 2 || len(got["a"]) != 2 || got["a"][1].Value != 4 || got[""][0].Value != 9 {
		t.Fatalf("ValuesByPod(queue): got %v, want a: [3 4] and \"\": [9]", got)
	}
	if _, ok := got["b"]; ok {
		t.Fatal("ValuesByPod(queue): pod b exposes no queue, want no entry")
	}
	var nilResult *MetricResult
	if got := nilResult.ValuesByPod("queue"); got == nil || len(got) != 0 {
		t.Fatalf("nil result: got %v, want an empty map", got)
	}
}

func TestPodValuesTellsWhy(t *testing.T) {
	r := refreshResult()
	for _, tc := range []struct {
		name, pod, metric string
		want              []float64
		wantErr           error
	}{
		{"values", "a", "queue", []float64{3, 4}, nil},
		{"up without the metric", "b", "queue", nil, ErrNoSuchMetric},
		{"down", "c", "queue", nil, ErrPodDown},
		{"down wraps the pod's error", "c", "queue", nil, errRefused},
		{"not in the result", "d", "queue", nil, ErrPodNotScraped},
	} {
		t.Run(tc.name, func(t *testing.T) {
			values, err := r.PodValues(tc.pod, tc.metric)
			var got []float64
			for _, v := range values {
				got = append(got, v.Value)
			}
			if !slices.Equal(got, tc.want) || !errors.Is(err, tc.wantErr) {
				t.Fatalf("PodValues(%s, %s): got %v, %v; want %v, %v", tc.pod, tc.metric, got, err, tc.want, tc.wantErr)
			}
			if err != nil && !errors.Is(err, ErrNoSuchMetric) && !errors.Is(err, ErrPodDown) && !errors.Is(err, ErrPodNotScraped) {
				t.Fatalf("error %v wraps none of the sentinels", err)
			}
		})
	}
	var nilResult *MetricResult
	if _, err := nilResult.PodValues("a", "queue"); !errors.Is(err, ErrPodNotScraped) {
		t.Fatalf("nil result: got %v, want ErrPodNotScraped", err)
	}
	down := &MetricResult{Values: []MetricValue{sample(MetricUp, "x", 0)}}
	if _, err := down.PodValues("x", "queue"); !errors.Is(err, ErrPodDown) {
		t.Fatalf("up 0 without a PodError: got %v, want ErrPodDown", err)
	}
}
