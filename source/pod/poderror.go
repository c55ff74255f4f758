package pod

import (
	"strings"

	"github.com/podscrape/podscrape/source"
)

// A ScrapeError is the source.PodError of its pod, so that MetricResult.PodStatuses and
// PodValues attribute it without importing this package.
var _ source.PodError = (*ScrapeError)(nil)

// PodName is the pod's name without its namespace, as the pod label of its samples has
// it.
func (e *ScrapeError) PodName() string {
	return e.Pod[strings.LastIndexByte(e.Pod, '/')+1:]
}

// Reason classifies the cause into one of the Reason constants (see ScrapeReason).
func (e *ScrapeError) Reason() string { return ScrapeReason(e.Err) }
