package source

import (
	"maps"
	"slices"
	"time"
)

// Synthetic samples a scraping source writes per pod per scrape besides MetricUp, named
// as Prometheus names them.
const (
	// MetricScrapeDuration is how long the scrape took, in seconds.
	MetricScrapeDuration = "scrape_duration_seconds"
	// MetricScrapeSamples is how many samples the pod exposed.
	MetricScrapeSamples = "scrape_samples_scraped"
)

// ReasonUnknown is PodStatus.Reason for a pod that is down without a PodError saying why.
const ReasonUnknown = "unknown"

// PodError is implemented by the per-pod errors a source joins into MetricResult.Error
// (source/pod's *ScrapeError), so that PodStatuses and PodValues attribute each to its
// pod without importing the source's package.
type PodError interface {
	error
	// PodName is the pod's name, as the pod label of its samples has it.
	PodName() string
	// Reason classifies the failure in one stable word ("timeout", "http_status", ...),
	// for branching and metric labels.
	Reason() string
}

// PodStatus is one pod's outcome in the refresh behind a result: what Prometheus shows
// for a target.
type PodStatus struct {
	// Pod is the pod's name.
	Pod string
	// Up reports whether the pod answered with a valid exposition (its up sample is 1).
	Up bool
	// Duration is how long its scrape took (scrape_duration_seconds); 0 when the result
	// does not carry that sample.
	Duration time.Duration
	// Samples is how many samples it exposed (scrape_samples_scraped); 0 when the result
	// does not carry that sample.
	Samples int
	// Reason is empty when Up; else the PodError's Reason, or ReasonUnknown.
	Reason string
	// Err is the pod's error from the result's Error, nil when there is none.
	Err error
}

// PodStatuses returns one PodStatus per pod that has an up sample in the result or a
// PodError in its Error, sorted by pod name. Results of a scraping source carry each
// scraped pod's up sample; all_metrics also carries its duration and sample count. The
// slice is the caller's. Nil-safe: a nil result gives none.
func (r *MetricResult) PodStatuses() []PodStatus {
	if r == nil {
		return nil
	}
	byPod := map[string]*PodStatus{}
	status := func(pod string) *PodStatus {
		st := byPod[pod]
		if st == nil {
			st = &PodStatus{Pod: pod}
			byPod[pod] = st
		}
		return st
	}
	// A pod has a status by its up sample or its PodError alone: a result holding a pod's
	// scrape_duration_seconds or scrape_samples_scraped without its up (a query for
	// those series themselves) says nothing of whether it is up.
	for _, v := range r.Values {
		if pod, ok := v.Labels[LabelPod]; ok && v.Labels[LabelName] == MetricUp {
			status(pod).Up = v.Value == 1
		}
	}
	for _, pe := range PodErrors(r.Error) {
		st := status(pe.PodName())
		st.Up = false
		st.Err = pe
		st.Reason = pe.Reason()
	}
	for _, v := range r.Values {
		pod, ok := v.Labels[LabelPod]
		st := byPod[pod]
		if !ok || st == nil {
			continue
		}
		switch v.Labels[LabelName] {
		case MetricScrapeDuration:
			st.Duration = time.Duration(v.Value * float64(time.Second))
		case MetricScrapeSamples:
			st.Samples = int(v.Value)
		}
	}
	out := make([]PodStatus, 0, len(byPod))
	for _, pod := range slices.Sorted(maps.Keys(byPod)) {
		st := byPod[pod]
		if !st.Up && st.Reason == "" {
			st.Reason = ReasonUnknown
		}
		out = append(out, *st)
	}
	return out
}

// PodErrors returns every PodError in err's tree (through Unwrap, errors.Join
// included), outermost first; the first found on each branch ends that branch. The
// slice is the caller's.
func PodErrors(err error) []PodError {
	var out []PodError
	var walk func(error)
	walk = func(err error) {
		if err == nil {
			return
		}
		if pe, ok := err.(PodError); ok {
			out = append(out, pe)
			return
		}
		switch u := err.(type) {
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				walk(e)
			}
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		}
	}
	walk(err)
	return out
}

// podError is the PodError for pod in err, or nil.
func podError(err error, pod string) error {
	for _, pe := range PodErrors(err) {
		if pe.PodName() == pod {
			return pe
		}
	}
	return nil
}
