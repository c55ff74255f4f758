package pod

import (
	"sync/atomic"

	"github.com/podscrape/podscrape/internal/exposition"
)

// MetricMetadata is what an exposition says about one metric family: its # TYPE, # HELP
// and (OpenMetrics only) # UNIT lines.
type MetricMetadata struct {
	// Type is the family's type as OpenMetrics names it: counter, gauge, histogram,
	// gaugehistogram, summary, info, stateset, or unknown (the text format's untyped,
	// and a family with no # TYPE line).
	Type string
	// Help is the # HELP text, unescaped; empty when there is none.
	Help string
	// Unit is the # UNIT; empty when there is none.
	Unit string
}

// familyMetadata is one family's metadata as one pod exposed it.
type familyMetadata struct {
	family string
	MetricMetadata
}

// metadataSet is the metadata of the pods of one refresh that were scraped successfully,
// in pod order. It is not modified once stored.
type metadataSet struct {
	pods [][]familyMetadata
}

// metadataStore holds the latest metadataSet; the zero value holds none.
type metadataStore struct {
	latest atomic.Pointer[metadataSet]
}

// recordMetadata keeps the metadata of the pods scraped successfully, unless none was: a
// refresh whose every pod failed leaves the previous metadata in place.
func (s *PodScrapingSource) recordMetadata(pods []podScrape) {
	set := &metadataSet{}
	for i := range pods {
		if pods[i].err == nil {
			set.pods = append(set.pods, pods[i].metadata)
		}
	}
	if len(set.pods) > 0 {
		s.metadata.latest.Store(set)
	}
}

// Metadata returns the # TYPE, # HELP and # UNIT of each metric family exposed by the pods
// of the latest Refresh to finish that scraped at least one pod successfully, by family
// name as exposed: x for an OpenMetrics counter whose samples are x_total, x_total in the
// text format. Where pods disagree, the first pod by name wins. Families are
// reported whatever the queries asked, for every # TYPE, # HELP or # UNIT line in the
// exposition.
//
// It returns nil before such a Refresh. The map is the caller's. Metadata is safe for
// concurrent use and does no I/O.
func (s *PodScrapingSource) Metadata() map[string]MetricMetadata {
	set := s.metadata.latest.Load()
	if set == nil {
		return nil
	}
	out := map[string]MetricMetadata{}
	for i := len(set.pods) - 1; i >= 0; i-- { // later pods first, so the first pod wins
		for _, f := range set.pods[i] {
			out[f.family] = f.MetricMetadata
		}
	}
	return out
}

// noteMetadata is the parsers' Options.Metadata: it keeps what the exposition says of a
// family for the pod being parsed. A family handed on twice (its lines in two blocks)
// is kept twice; the later, knowing more, wins in Metadata.
func (p *pooledParser) noteMetadata(m exposition.Metadata) {
	if p.metadata != nil {
		*p.metadata = append(*p.metadata, familyMetadata{family: m.Family,
			MetricMetadata: MetricMetadata{Type: m.Type.String(), Help: m.Help, Unit: m.Unit}})
	}
}
