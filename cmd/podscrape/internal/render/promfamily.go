package render

import (
	"cmp"
	"slices"
	"strings"

	"github.com/podscrape/podscrape/cmd/podscrape/internal/snapshot"
	"github.com/podscrape/podscrape/source"
	"github.com/podscrape/podscrape/source/pod"
)

// The text format's metric types, as # TYPE lines write them.
const (
	typeCounter   = "counter"
	typeGauge     = "gauge"
	typeHistogram = "histogram"
	typeSummary   = "summary"
	typeUntyped   = "untyped"
)

// promFamily is one metric family of the prom format: a # HELP line (when help is not
// empty), a # TYPE line and the family's series, contiguous as the format requires.
type promFamily struct {
	name   string
	help   string
	typ    string
	series []promSeries
}

// promSeries is one sample line of the prom format.
type promSeries struct {
	name   string
	pod    string
	labels []snapshot.Label // pod included, sorted by name
	value  float64
	rank   int // place of name in its family: see memberRank
}

// syntheticFamilies are the series the scraper adds per pod, in the order they are
// written, after the exposed families.
func syntheticFamilies() []promFamily {
	return []promFamily{
		{name: source.MetricUp, typ: typeGauge, help: "1 if the scrape of the pod succeeded, 0 if it failed."},
		{name: source.MetricScrapeDuration, typ: typeGauge, help: "Duration of the scrape of the pod in seconds."},
		{name: source.MetricScrapeSamples, typ: typeGauge, help: "Number of samples the pod exposed."},
	}
}

// promFamilies groups the samples of s into the families of the text format 0.0.4, each
// with the # HELP and # TYPE its pods exposed (s.Metadata): the exposed families sorted
// by name, then up, scrape_duration_seconds and scrape_samples_scraped (merged into an
// exposed family of the same name, should a pod expose one). Within a family, lines are
// ordered by pod, then as the exposition orders a family's series (a histogram's buckets
// in le order, then _sum, then _count).
func promFamilies(s *snapshot.Snapshot) []promFamily {
	byName := map[string]*promFamily{}
	var families []*promFamily
	family := func(name, typ, help string) *promFamily {
		f := byName[name]
		if f == nil {
			f = &promFamily{name: name, typ: typ, help: help}
			byName[name] = f
			families = append(families, f)
		}
		return f
	}
	for _, smp := range s.Samples {
		name, typ, help := textFamily(smp.Name, s.Metadata)
		f := family(name, typ, help)
		labels := append(slices.Clone(smp.Labels), snapshot.Label{Name: "pod", Value: smp.Pod})
		slices.SortFunc(labels, func(a, b snapshot.Label) int { return strings.Compare(a.Name, b.Name) })
		f.series = append(f.series, promSeries{name: smp.Name, pod: smp.Pod, labels: labels, value: smp.Value,
			rank: memberRank(f.name, smp.Name)})
	}
	synthetic := syntheticFamilies()
	last := func(name string) int { // the status families go last, in their order
		return 1 + slices.IndexFunc(synthetic, func(f promFamily) bool { return f.name == name })
	}

	for _, syn := range synthetic {
		f := family(syn.name, syn.typ, syn.help)
		if f.help == "" {
			f.help = syn.help
		}
		for _, p := range s.Pods {
			v := 0.0
			switch syn.name {
			case source.MetricUp:
				if p.Up {
					v = 1
				}
			case source.MetricScrapeDuration:
				v = p.DurationSeconds
			case source.MetricScrapeSamples:
				v = float64(p.Samples)
			}
			f.series = append(f.series, promSeries{name: syn.name, pod: p.Pod,
				labels: []snapshot.Label{{Name: "pod", Value: p.Pod}}, value: v})
		}
	}

	slices.SortFunc(families, func(a, b *promFamily) int {
		return cmp.Or(cmp.Compare(last(a.name), last(b.name)), strings.Compare(a.name, b.name))
	})
	out := make([]promFamily, len(families))
	for i, f := range families {
		// Stable: a pod's buckets keep their le order.
		slices.SortStableFunc(f.series, func(a, b promSeries) int {
			return cmp.Or(strings.Compare(a.pod, b.pod), cmp.Compare(a.rank, b.rank))
		})
		out[i] = *f
	}
	return out
}

// memberRank orders the series of a family as client libraries write them: the family's
// own name (a summary's quantiles) and _bucket first, then _sum, then _count.
func memberRank(family, name string) int {
	switch strings.TrimPrefix(name, family) {
	case "", "_bucket":
		return 0
	case "_sum":
		return 1
	case "_count":
		return 2
	}
	return 3
}

// textFamily returns the text-format family of a sample named name, its type and its
// help, from meta (keyed by family name as either format exposes it):
//
//   - a family of that very name: a counter of the text format (x_total), a gauge, an
//     untyped family, a summary's quantiles; OpenMetrics info and stateset become gauges;
//   - else x_bucket, x_sum and x_count of a histogram or summary x belong to x;
//   - an OpenMetrics counter x exposes x_total, which the text format names its family;
//     its x_created, and a histogram's or summary's, are gauges of their own; so are an
//     info x's x_info; a gauge histogram's series are untyped families of their own;
//   - else the sample is an untyped family of its own, with no help.
//
// OpenMetrics units have no place in the text format 0.0.4 and are dropped.
func textFamily(name string, meta map[string]pod.MetricMetadata) (family, typ, help string) {
	if m, ok := meta[name]; ok {
		switch m.Type {
		case "counter", "gauge", "summary":
			return name, m.Type, m.Help
		case "info", "stateset":
			return name, typeGauge, m.Help
		}
		return name, typeUntyped, m.Help
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count", "_total", "_created", "_info", "_gcount", "_gsum"} {
		base, ok := strings.CutSuffix(name, suffix)
		if !ok {
			continue
		}
		m, ok := meta[base]
		if !ok {
			continue
		}
		switch {
		case m.Type == "histogram" && (suffix == "_bucket" || suffix == "_sum" || suffix == "_count"),
			m.Type == "summary" && (suffix == "_sum" || suffix == "_count"):
			return base, m.Type, m.Help
		case m.Type == "counter" && suffix == "_total":
			return name, typeCounter, m.Help
		case suffix == "_created" && (m.Type == "counter" || m.Type == "histogram" || m.Type == "summary"),
			m.Type == "info" && suffix == "_info":
			return name, typeGauge, m.Help
		case m.Type == "gaugehistogram" && (suffix == "_bucket" || suffix == "_gcount" || suffix == "_gsum"):
			return name, typeUntyped, m.Help
		}
	}
	return name, typeUntyped, ""
}
