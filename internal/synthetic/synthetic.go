// Package synthetic names the series a scraping source writes per pod per scrape itself,
// as Prometheus does (up, scrape_duration_seconds, scrape_samples_scraped), and tells a
// selector of only those: it reads the health of the pods scraped, not their data. The
// library (source/pod) and the server (serve) decide with the same definition.
package synthetic

import (
	"regexp"
	"slices"
	"strings"

	"github.com/prometheus/prometheus/model/labels"
)

// Names are the synthetic series, in the order a source appends them to a pod's samples:
// the library's source.MetricUp, source.MetricScrapeDuration and
// source.MetricScrapeSamples (internal/ does not import the library; source's
// TestSyntheticNamesAreTheMetricConstants keeps the two lists one).
var Names = [...]string{"up", "scrape_duration_seconds", "scrape_samples_scraped"}

// Not matches the name of every series but the synthetic ones.
var Not = labels.MustNewMatcher(labels.MatchNotRegexp, labels.MetricName, alternatives(Names[:]))

// alternatives is the regular expression that matches exactly the names.
func alternatives(names []string) string {
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = regexp.QuoteMeta(n)
	}
	return strings.Join(quoted, "|")
}

// Is reports whether name is one of Names.
func Is(name string) bool {
	return slices.Contains(Names[:], name)
}

// Only reports whether matchers select only synthetic series: one of their matchers on
// the metric name matches only synthetic names, as an equality (up) or as a regular
// expression of a set of names ({__name__=~"up"}, {__name__=~"up|scrape_samples_scraped"}).
// A regular expression that is no set of names ("up.*") does not count: it may match
// others.
func Only(matchers []*labels.Matcher) bool {
	for _, m := range matchers {
		if m.Name != labels.MetricName {
			continue
		}
		switch m.Type {
		case labels.MatchEqual:
			if Is(m.Value) {
				return true
			}
		case labels.MatchRegexp:
			if set := m.SetMatches(); len(set) > 0 && !slices.ContainsFunc(set, func(n string) bool { return !Is(n) }) {
				return true
			}
		}
	}
	return false
}
