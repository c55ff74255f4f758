package snapshot

import (
	"time"

	"github.com/podscrape/podscrape/source/pod"
)

// Snapshot is one scrape of one Service, ready to render. Its slices are the Snapshot's;
// it is not modified once built, so it may be shared between goroutines.
type Snapshot struct {
	// Service is the Service scraped, as namespace/name.
	Service string
	// CollectedAt is when the scrape started.
	CollectedAt time.Time
	// Pods are the pods scraped, sorted by name.
	Pods []PodStatus
	// Samples are the exposed samples kept by the Filter (never the synthetic series),
	// sorted by name, then pod; a pod's samples of one name keep their exposition order
	// (a histogram's buckets stay in le order).
	Samples []Sample
	// Filtered reports whether a Filter selected the Samples (--metric or --match), so
	// that no samples can be told apart from no samples matched.
	Filtered bool
	// Unmatched are the Filter's Metrics of which the pods that answered exposed no
	// sample, in the Filter's order (a typo, a name the pods' version lacks, "a,b"
	// written for two): said, since the other metrics' samples would hide it. Empty when
	// every pod failed, which says why itself.
	Unmatched []string
	// Warnings are what the source noted about the scrape (source.MetricResult.Warnings),
	// each once: pods that answered earlier refreshes and are no longer scraped (not
	// Ready, finished), whose samples the Snapshot lacks. Nil when there are none.
	Warnings []string
	// Metadata is the # TYPE, # HELP and # UNIT of each metric family the pods exposed,
	// by family name as exposed (see pod.PodScrapingSource.Metadata); nil when unknown.
	Metadata map[string]pod.MetricMetadata
}

// PodStatus is how the scrape of one pod went.
type PodStatus struct {
	// Pod is the pod name.
	Pod string
	// Up reports whether the scrape succeeded (the up series was 1).
	Up bool
	// DurationSeconds is how long the scrape took (scrape_duration_seconds).
	DurationSeconds float64
	// Samples is how many samples the pod exposed (scrape_samples_scraped), kept or not.
	Samples int
	// Error says why the scrape failed; empty when Up.
	Error string
	// Reason classifies Error (one of the pod.Reason constants); empty when Up.
	Reason string
}

// Sample is one exposed sample of one pod.
type Sample struct {
	// Name is the series name (__name__).
	Name string
	// Pod is the pod that exposed it.
	Pod string
	// Labels are the sample's other labels, sorted by name; never __name__ or pod.
	Labels []Label
	// Value is the sample value; NaN and ±Inf are possible.
	Value float64
	// Timestamp is the exposition's timestamp, else the scrape time.
	Timestamp time.Time
}

// Label is one label pair.
type Label struct {
	Name, Value string
}

// Up counts the pods that are up.
func (s *Snapshot) Up() int {
	n := 0
	for _, p := range s.Pods {
		if p.Up {
			n++
		}
	}
	return n
}
