package source

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/podscrape/podscrape/internal/synthetic"
)

func TestPodStatuses(t *testing.T) {
	timeout := &testPodError{pod: "b", reason: "timeout", err: errors.New("deadline exceeded")}
	refused := &testPodError{pod: "e", reason: "connect", err: errRefused}
	r := &MetricResult{
		Values: []MetricValue{
			sample(MetricUp, "a", 1), sample(MetricScrapeDuration, "a", 0.25), sample(MetricScrapeSamples, "a", 42),
			sample(MetricUp, "b", 0), sample(MetricScrapeDuration, "b", 5), sample(MetricScrapeSamples, "b", 0),
			sample(MetricUp, "c", 1), // a metric-name result: up alone
			sample(MetricUp, "d", 0), // down, no PodError
			sample("queue", "a", 3),
		},
		// As a source wraps them: joined, and the join wrapped once more.
		Error: fmt.Errorf("2 pods failed: %w", errors.Join(timeout, refused)),
	}
	want := []PodStatus{
		{Pod: "a", Up: true, Duration: 250 * time.Millisecond, Samples: 42},
		{Pod: "b", Duration: 5 * time.Second, Reason: "timeout", Err: timeout},
		{Pod: "c", Up: true},
		{Pod: "d", Reason: ReasonUnknown},
		{Pod: "e", Reason: "connect", Err: refused}, // an error without samples
	}
	if got := r.PodStatuses(); !reflect.DeepEqual(got, want) {
		t.Fatalf("PodStatuses:\n got %+v\nwant %+v", got, want)
	}
	var nilResult *MetricResult
	if got := nilResult.PodStatuses(); got != nil {
		t.Fatalf("nil result: got %v, want nil", got)
	}
}

func TestPodErrors(t *testing.T) {
	a := &testPodError{pod: "a", reason: "timeout", err: errors.New("x")}
	b := &testPodError{pod: "b", reason: "connect", err: errRefused}
	for _, tc := range []struct {
		name string
		err  error
		want []PodError
	}{
		{"nil", nil, nil},
		{"no pod errors", errRefused, nil},
		{"one, wrapped", fmt.Errorf("refresh: %w", a), []PodError{a}},
		{"joined, beside another error", errors.Join(a, errRefused, b), []PodError{a, b}},
		{"nested joins", fmt.Errorf("all failed: %w", errors.Join(errors.Join(a), b)), []PodError{a, b}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := PodErrors(tc.err); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("PodErrors: got %v, want %v", got, tc.want)
			}
		})
	}
}

// TestSyntheticNamesAreTheMetricConstants: internal/synthetic, which tells serve and
// source/pod a selector of only these series, spells them itself (internal/ does not
// import the library): its list must be these constants, in the order they are written.
func TestSyntheticNamesAreTheMetricConstants(t *testing.T) {
	if want := [...]string{MetricUp, MetricScrapeDuration, MetricScrapeSamples}; synthetic.Names != want {
		t.Errorf("internal/synthetic.Names = %q, want %q", synthetic.Names, want)
	}
}

// TestPodStatusesNeedAnUpSampleOrAPodError: a result holding a pod's
// scrape_duration_seconds or scrape_samples_scraped but not its up (a query for those
// series: `scrape_duration_seconds`, a metric-name query for it on a Prometheus server)
// says nothing of whether the pod is up. PodStatuses gave each such pod a status, down
// with ReasonUnknown: every healthy pod reported down.
func TestPodStatusesNeedAnUpSampleOrAPodError(t *testing.T) {
	timeout := &testPodError{pod: "b", reason: "timeout", err: errors.New("deadline exceeded")}
	r := &MetricResult{
		Values: []MetricValue{
			sample(MetricScrapeDuration, "a", 0.25), sample(MetricScrapeSamples, "a", 42),
			sample(MetricScrapeDuration, "b", 5),
			sample(MetricScrapeDuration, "c", 0.5), sample(MetricUp, "c", 1),
		},
		Error: timeout,
	}
	want := []PodStatus{
		{Pod: "b", Duration: 5 * time.Second, Reason: "timeout", Err: timeout},
		{Pod: "c", Up: true, Duration: 500 * time.Millisecond},
	}
	if got := r.PodStatuses(); !reflect.DeepEqual(got, want) {
		t.Fatalf("PodStatuses:\n got %+v\nwant %+v", got, want)
	}
}
