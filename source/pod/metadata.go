package pod

import (
	"maps"
	"sync"
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

// metadataStore holds what the refreshes so far said of each family; the zero value
// holds none.
type metadataStore struct {
	mu     sync.Mutex                                // serialises writers; readers use latest alone
	latest atomic.Pointer[map[string]MetricMetadata] // by family; never modified once stored
}

// recordMetadata merges the metadata of the pods scraped successfully into what earlier
// refreshes recorded: for each family the refresh kept, the first pod by name wins. A
// refresh whose every pod failed changes nothing.
func (s *PodScrapingSource) recordMetadata(pods []podScrape) {
	var fresh map[string]MetricMetadata
	for i := len(pods) - 1; i >= 0; i-- { // later pods first, so the first pod wins
		if pods[i].err != nil {
			continue
		}
		for _, f := range pods[i].metadata {
			if fresh == nil {
				fresh = map[string]MetricMetadata{}
			}
			fresh[f.family] = f.MetricMetadata
		}
	}
	if fresh == nil {
		return
	}
	st := &s.metadata
	st.mu.Lock()
	defer st.mu.Unlock()
	old := st.latest.Load()
	if old != nil && holdsAll(*old, fresh) {
		return // what every scrape of a steady target finds: nothing to store anew
	}
	next := map[string]MetricMetadata{}
	if old != nil {
		maps.Copy(next, *old)
	}
	maps.Copy(next, fresh)
	st.latest.Store(&next)
}

// holdsAll reports whether m holds every entry of sub, the same.
func holdsAll(m, sub map[string]MetricMetadata) bool {
	for k, v := range sub {
		if w, ok := m[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// Metadata returns the # TYPE, # HELP and # UNIT of each metric family the refreshes so
// far kept (every family for all_metrics, the named ones for metric-name queries), by
// family name as exposed: x for an OpenMetrics counter whose samples are x_total,
// x_total in the text format. Each family's entry comes from the latest refresh that kept
// it and scraped at least one pod successfully; where pods disagree, the first pod by
// name wins. Families a refresh did not keep cost it nothing.
//
// It returns nil before such a Refresh. The map is the caller's. Metadata is safe for
// concurrent use and does no I/O.
func (s *PodScrapingSource) Metadata() map[string]MetricMetadata {
	latest := s.metadata.latest.Load()
	if latest == nil {
		return nil
	}
	return maps.Clone(*latest)
}

// noteMetadata is the parsers' Options.Metadata: it keeps what the exposition says of a
// family for the pod being parsed. A family handed on twice (its lines in two blocks)
// is kept twice; the later, knowing more, wins in Metadata.
func (p *pooledParser) noteMetadata(m exposition.Metadata) {
	// Only the families the refresh keeps: a one-metric refresh stays one metric's cost.
	if p.metadata != nil && p.keep(m.Family, m.Family) {
		*p.metadata = append(*p.metadata, familyMetadata{family: m.Family,
			MetricMetadata: MetricMetadata{Type: m.Type.String(), Help: m.Help, Unit: m.Unit}})
	}
}
