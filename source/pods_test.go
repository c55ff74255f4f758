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

// A result that failed for a reason of its own, not a pod's (a Prometheus server down, a
// PromQL evaluation error, a window the history does not cover), knows nothing of a pod
// it holds no values for: PodValues says the result failed, wrapping its Error, never
// ErrPodNotScraped ("not Ready, gone"), which a caller may skip as no pod at all.
func TestPodValuesOfAFailedResult(t *testing.T) {
	errServer := errors.New(`query "queue": connection refused`)
	errPartial := errors.New("increase over 10m reaches before the history: partial window")
	for _, tc := range []struct {
		name string
		r    *MetricResult
	}{
		{"failed, no values", &MetricResult{Error: errServer}},
		{"failed, wrapped", &MetricResult{Error: fmt.Errorf("refresh: %w", errServer)}},
		{"partial, other pods' values", &MetricResult{
			Values: []MetricValue{sample("queue", "a", 3)},
			Error:  errors.Join(errServer, &testPodError{pod: "c", reason: "connect", err: errRefused}),
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.r.PodValues("d", "queue")
			if err == nil || errors.Is(err, ErrPodNotScraped) || !errors.Is(err, errServer) {
				t.Fatalf("PodValues(d) of a failed result: got %v, want an error wrapping the result's failure, not ErrPodNotScraped", err)
			}
		})
	}
	partial := &MetricResult{
		Values: []MetricValue{sample("queue", "a", 3)},
		Error:  errors.Join(errPartial, &testPodError{pod: "c", reason: "connect", err: errRefused}),
	}
	if _, err := partial.PodValues("c", "queue"); !errors.Is(err, ErrPodDown) {
		t.Errorf("PodValues(c), c failed: got %v, want ErrPodDown", err)
	}
	if v, err := partial.PodValues("a", "queue"); err != nil || len(v) != 1 {
		t.Errorf("PodValues(a): got %v, %v; want its value", v, err)
	}
	// Only pods failed: a pod outside the result was not scraped.
	if _, err := refreshResult().PodValues("d", "queue"); !errors.Is(err, ErrPodNotScraped) {
		t.Errorf("PodValues(d) when only pods failed: got %v, want ErrPodNotScraped", err)
	}
}

// TestValuesByPodLeavesOutAFailedPod: a PromQL result keeps a failed pod's series while
// its windows reach its last samples (last_over_time(queue[5m]) still gives c's old
// queue). ValuesByPod, which says a pod that is down has no entry, returned them: a sum
// over its map counted a pod that did not answer at its last value, where PodValues says
// ErrPodDown.
func TestValuesByPodLeavesOutAFailedPod(t *testing.T) {
	r := &MetricResult{
		Values: []MetricValue{sample("queue", "a", 3), sample("queue", "c", 7)},
		Error:  fmt.Errorf("1 pod failed: %w", errors.Join(&testPodError{pod: "c", reason: "timeout", err: errRefused})),
	}
	got := r.ValuesByPod("queue")
	if len(got) != 1 || len(got["a"]) != 1 || got["a"][0].Value != 3 {
		t.Fatalf("ValuesByPod(queue): got %v, want a: [3] alone (c failed its scrape)", got)
	}
	if _, err := r.PodValues("c", "queue"); !errors.Is(err, ErrPodDown) {
		t.Fatalf("PodValues(c): got %v, want ErrPodDown", err)
	}
}
