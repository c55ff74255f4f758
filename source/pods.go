package source

import (
	"errors"
	"fmt"
)

// Label names every source gives its samples.
const (
	// LabelName holds the metric name of a sample.
	LabelName = "__name__"
	// LabelPod holds the name of the pod a sample came from.
	LabelPod = "pod"
	// MetricUp is the synthetic sample a scraping source writes per pod per scrape, as
	// Prometheus does: 1 when the pod answered with a valid exposition, else 0.
	MetricUp = "up"
)

// Errors PodValues returns, to tell why a pod has no values of a metric; test with
// errors.Is.
var (
	// ErrPodDown: the pod was scraped and failed (its up sample is 0). The error also
	// wraps the pod's own error when the result's Error has one (see PodError).
	ErrPodDown = errors.New("pod down")
	// ErrNoSuchMetric: the pod answered (up 1) and exposes no sample of the metric.
	ErrNoSuchMetric = errors.New("no such metric")
	// ErrPodNotScraped: the result has no up sample for the pod: the refresh did not scrape
	// it (not Ready, terminating, gone), or the source writes no up samples. Never the
	// answer of a result that failed for a reason of its own (see PodValues).
	ErrPodNotScraped = errors.New("pod not scraped")
)

// ValuesByPod returns the values of metric (their __name__) grouped by their pod label;
// values without one are under "". A pod that exposes no such sample, or is down, has no
// entry: use PodValues to tell which. A pod whose scrape failed in the refresh behind
// the result (a PodError in its Error) is down whatever values the result holds for it,
// as for PodValues: a PromQL result keeps a failed pod's series while its windows still
// reach its last samples, which are not the pod's present. The map and slices are the
// caller's; the values' Labels stay shared. Nil-safe: a nil result gives an empty map.
func (r *MetricResult) ValuesByPod(metric string) map[string][]MetricValue {
	byPod := map[string][]MetricValue{}
	if r == nil {
		return byPod
	}
	var down map[string]bool
	for _, pe := range PodErrors(r.Error) {
		if down == nil {
			down = map[string]bool{}
		}
		down[pe.PodName()] = true
	}
	for _, v := range r.Values {
		if v.Labels[LabelName] == metric {
			pod, ok := v.Labels[LabelPod]
			if ok && down[pod] {
				continue
			}
			byPod[pod] = append(byPod[pod], v)
		}
	}
	return byPod
}

// PodValues returns pod's values of metric. When the pod's scrape failed in the refresh
// behind the result (the result's Error holds a PodError for it), it returns no values
// and ErrPodDown wrapping that error, whatever values the result holds for the pod: a
// PromQL result keeps a failed pod's series while its windows still reach its last
// samples, which are not the pod's present. Else, when there are no values, the error
// says why, so that "the queue is empty" is never confused with "the pod did not
// answer": ErrPodDown when the pod's up sample is 0, ErrNoSuchMetric when it is 1, and
// ErrPodNotScraped when the result has no up sample for the pod. A result whose source
// writes no up samples (not a scraping source) answers ErrPodNotScraped for a pod without
// values, unless the result failed for a reason other than its pods' (its Error holds a
// cause that is not a PodError: a Prometheus server down, a PromQL evaluation error, a
// window the history does not cover): it knows nothing of that pod, so the error wraps the
// result's Error and none of the three sentinels: unknown, not "no pod". The slice is the
// caller's; the values' Labels stay shared. Nil-safe.
func (r *MetricResult) PodValues(pod, metric string) ([]MetricValue, error) {
	var values []MetricValue
	up, scraped := 0.0, false
	if r != nil {
		for _, v := range r.Values {
			if v.Labels[LabelPod] != pod {
				continue
			}
			switch v.Labels[LabelName] {
			case metric:
				values = append(values, v)
			case MetricUp:
				up, scraped = v.Value, true
			}
		}
	}
	var cause error
	if r != nil {
		cause = podError(r.Error, pod)
	}
	switch {
	case cause != nil:
		return nil, fmt.Errorf("metric %s of pod %s: %w: %w", metric, pod, ErrPodDown, cause)
	case len(values) > 0:
		return values, nil
	case !scraped && r != nil && failedOnItsOwn(r.Error):
		return nil, fmt.Errorf("metric %s of pod %s: the result failed: %w", metric, pod, r.Error)
	case !scraped:
		return nil, fmt.Errorf("metric %s of pod %s: %w", metric, pod, ErrPodNotScraped)
	case up != 1:
		return nil, fmt.Errorf("metric %s of pod %s: %w", metric, pod, ErrPodDown)
	default:
		return nil, fmt.Errorf("metric %s of pod %s: %w", metric, pod, ErrNoSuchMetric)
	}
}

// failedOnItsOwn reports whether err's tree (through Unwrap, errors.Join included) holds
// a cause that is not a PodError: a failure of the result itself, not of some pods.
func failedOnItsOwn(err error) bool {
	switch u := err.(type) {
	case nil:
		return false
	case PodError:
		return false
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			if failedOnItsOwn(e) {
				return true
			}
		}
		return false
	case interface{ Unwrap() error }:
		return failedOnItsOwn(u.Unwrap())
	default:
		return true
	}
}
