package pod

import (
	"slices"
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

// Bounds of the metadata kept per family.
const (
	// maxMetadataPerFamily bounds the distinct entries of one family. A rolling upgrade
	// that changes a HELP text gives two; a HELP that varies per pod (a version, a pod
	// name in it) would otherwise keep and list one per pod.
	maxMetadataPerFamily = 10
	// metadataRetention is how many refreshes an entry no pod exposes any more is kept:
	// as Prometheus' scrape cache keeps a family's metadata 10 scrapes after its target
	// stopped exposing it, so a family that comes and goes is not forgotten between, and
	// a family gone, or a gone pod's HELP text, leaves within 10 intervals.
	metadataRetention = 10
)

// metadataEntry is one distinct entry of a family, and how many refreshes that looked
// for its family (kept it, and scraped a pod successfully) found no pod exposing it.
type metadataEntry struct {
	MetricMetadata
	missed int
}

// metadataStore holds what the refreshes so far said of each family; the zero value
// holds none.
type metadataStore struct {
	mu sync.Mutex // serialises writers; readers use latest alone
	// latest holds each family's entries, those the latest refresh that found the family
	// found first, in pod order; never modified once stored.
	latest atomic.Pointer[map[string][]metadataEntry]
}

// recordMetadata records the metadata of the pods sel scraped successfully: each
// family's distinct entries, the first pods by name first, then the entries earlier
// refreshes found that no pod exposes now, for metadataRetention refreshes that look for
// the family (sel keeps it). The metadata a pod that failed over SampleLimit or on a
// malformed line exposed before it failed is recorded too, as Prometheus' scrape cache
// takes it as the parse meets it, but ages nothing. A refresh whose every pod failed
// otherwise changes nothing; one that found no pod (a Service scaled to zero) finds no
// pod exposing any family, as one whose pods expose none: Prometheus drops the metadata
// of the targets gone.
func (s *PodScrapingSource) recordMetadata(sel *selection, pods []podScrape) {
	var fresh map[string]foundMetadata
	scraped, partial := false, false
	for i := range pods {
		switch err := pods[i].err; {
		case err == nil:
			scraped = true
		case exposedCounted(err):
			partial = true
		default:
			continue
		}
		md := pods[i].metadata
		for j := len(md) - 1; j >= 0; j-- { // a family handed on twice: the later, knowing more, wins
			f := md[j]
			if fresh == nil {
				fresh = map[string]foundMetadata{}
			}
			found := fresh[f.family]
			if found.pod == i+1 {
				continue
			}
			found.pod = i + 1
			if len(found.list) < maxMetadataPerFamily && !slices.Contains(found.list, f.MetricMetadata) {
				found.list = append(found.list, f.MetricMetadata)
			}
			fresh[f.family] = found
		}
	}
	if !scraped && !partial && len(pods) > 0 {
		return
	}
	// Only a pod scraped successfully says a family it does not expose is gone.
	looked := func(family string) bool { return (scraped || len(pods) == 0) && (sel.all || sel.wants(family, family)) }
	st := &s.metadata
	st.mu.Lock()
	defer st.mu.Unlock()
	var old map[string][]metadataEntry
	if p := st.latest.Load(); p != nil {
		old = *p
	}
	if unchanged(old, fresh, looked) {
		return // what every scrape of a steady target finds: nothing to store anew
	}
	next := make(map[string][]metadataEntry, len(old)+len(fresh))
	for family, entries := range old {
		switch found, ok := fresh[family]; {
		case ok:
			next[family] = mergeEntries(found.list, entries)
		case looked(family):
			if aged := mergeEntries(nil, entries); len(aged) > 0 {
				next[family] = aged
			}
		default:
			next[family] = entries
		}
	}
	for family, found := range fresh {
		if _, ok := old[family]; !ok {
			next[family] = mergeEntries(found.list, nil)
		}
	}
	st.latest.Store(&next)
}

// foundMetadata is what one refresh found of a family: its distinct entries, in pod
// order, and 1 + the index of the pod whose entry was taken last.
type foundMetadata struct {
	list []MetricMetadata
	pod  int
}

// unchanged reports whether recording fresh would store what old holds: every family
// fresh found has in old the same entries, in the same order, none missed, and every
// family of old a refresh that looked for it would age is in fresh.
func unchanged(old map[string][]metadataEntry, fresh map[string]foundMetadata, looked func(string) bool) bool {
	for family, found := range fresh {
		entries, ok := old[family]
		if !ok || len(entries) != len(found.list) {
			return false
		}
		for i, e := range entries {
			if e.missed != 0 || e.MetricMetadata != found.list[i] {
				return false
			}
		}
	}
	for family := range old {
		if _, ok := fresh[family]; !ok && looked(family) {
			return false
		}
	}
	return true
}

// mergeEntries returns found, each missed by none, then the entries of earlier not in
// found, each missed once more, those missed more than metadataRetention times left
// out, at most maxMetadataPerFamily in all.
func mergeEntries(found []MetricMetadata, earlier []metadataEntry) []metadataEntry {
	out := make([]metadataEntry, 0, min(len(found)+len(earlier), maxMetadataPerFamily))
	for _, m := range found {
		out = append(out, metadataEntry{MetricMetadata: m})
	}
	for _, e := range earlier {
		if len(out) == maxMetadataPerFamily {
			break
		}
		if e.missed < metadataRetention && !slices.Contains(found, e.MetricMetadata) {
			out = append(out, metadataEntry{MetricMetadata: e.MetricMetadata, missed: e.missed + 1})
		}
	}
	return out
}

// Metadata returns the # TYPE, # HELP and # UNIT of each metric family the refreshes so
// far kept (every family for all_metrics and for ScrapeSeries, which records them as a
// refresh does, the named ones for metric-name queries), by
// family name as exposed: x for an OpenMetrics counter whose samples are x_total,
// x_total in the text format. Each family's entry is the one the latest refresh that
// found the family found first: where pods disagree, the first pod by name wins
// (MetadataEntries has them all); a pod that failed over SampleLimit or on a malformed
// line counts with what it exposed before it failed, as in Prometheus. A family no pod
// has exposed for 10 refreshes that kept it (and scraped a pod successfully) is dropped, as Prometheus drops it 10 scrapes after its
// target stopped exposing it. Families a refresh did not keep cost it nothing.
//
// It returns nil before a Refresh or ScrapeSeries recorded any. The map is the caller's. Metadata is safe for
// concurrent use and does no I/O.
func (s *PodScrapingSource) Metadata() map[string]MetricMetadata {
	latest := s.metadata.latest.Load()
	if latest == nil {
		return nil
	}
	out := make(map[string]MetricMetadata, len(*latest))
	for family, entries := range *latest {
		out[family] = entries[0].MetricMetadata
	}
	return out
}

// MetadataEntries returns each family's distinct entries, as Prometheus'
// /api/v1/metadata lists them where its targets disagree (a rolling upgrade that
// changes a HELP text): those of the latest refresh that found the family first, the
// first pod's by name first, then those earlier refreshes found, for as long as Metadata
// keeps a family; at most 10 per family. Families are kept and dropped as by Metadata.
//
// It returns nil before a Refresh or ScrapeSeries recorded any. The map and its slices
// are the caller's. MetadataEntries is safe for concurrent use and does no I/O.
func (s *PodScrapingSource) MetadataEntries() map[string][]MetricMetadata {
	latest := s.metadata.latest.Load()
	if latest == nil {
		return nil
	}
	out := make(map[string][]MetricMetadata, len(*latest))
	for family, entries := range *latest {
		list := make([]MetricMetadata, len(entries))
		for i, e := range entries {
			list[i] = e.MetricMetadata
		}
		out[family] = list
	}
	return out
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
