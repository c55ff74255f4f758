package snapshot

import (
	"fmt"
	"regexp"

	"github.com/podscrape/podscrape/source"
	"github.com/podscrape/podscrape/source/pod"
)

// The synthetic series every pod gets, which the pod status is read from: the library's
// names, not spelled a second time.
const (
	seriesUp       = source.MetricUp
	seriesDuration = source.MetricScrapeDuration
	seriesSamples  = source.MetricScrapeSamples
)

// queryPrefix names the queries Register adds, apart from the user's own.
const queryPrefix = "podscrape:"

// Filter selects the samples of a Snapshot. The zero value keeps every sample. It is not
// modified by this package.
type Filter struct {
	// Metrics names the metrics to keep: a series name (vllm:num_requests_running) or a
	// family name, which keeps its _bucket, _sum and _count or _total series. Empty: all.
	Metrics []string
	// Match keeps only samples whose name it matches (unanchored, as grep). Nil: all.
	Match *regexp.Regexp
	// PodLabels are the source's PodScrapingSourceConfig.PodLabels (Kubernetes label
	// keys). The source puts them, mapped to label names, on every series of a pod, its
	// up, scrape_duration_seconds and scrape_samples_scraped too: those are still the
	// pod's status, not samples.
	PodLabels []string
}

// Queries are the names of the queries a Filter needs, as Register returns them.
type Queries struct {
	// Names are the query names to refresh.
	Names []string

	metrics []string // query names of Filter.Metrics, or [all_metrics]
	status  []string // query names of the synthetic series; nil when metrics is all_metrics
}

// Register adds to list the queries f needs and returns them. Call it once per source:
// a name already registered is an error.
func (f Filter) Register(list *source.QueryList) (Queries, error) {
	if len(f.Metrics) == 0 {
		return Queries{Names: []string{pod.AllMetricsQuery}, metrics: []string{pod.AllMetricsQuery}}, nil
	}
	var q Queries
	seen := map[string]bool{}
	add := func(name, template, what string) (string, error) {
		if seen[name] {
			return name, nil
		}
		seen[name] = true
		err := list.Register(source.QueryTemplate{
			Name: name, Type: source.QueryTypeMetricName, Template: template, Description: what,
		})
		if err != nil {
			return "", fmt.Errorf("register query for %s: %w", template, err)
		}
		q.Names = append(q.Names, name)
		return name, nil
	}
	for _, m := range f.Metrics {
		if m == "" {
			return Queries{}, fmt.Errorf("empty metric name")
		}
		name, err := add(queryPrefix+"metric:"+m, m, "samples of "+m)
		if err != nil {
			return Queries{}, err
		}
		q.metrics = append(q.metrics, name)
	}
	for _, s := range []string{seriesUp, seriesDuration, seriesSamples} {
		name, err := add(queryPrefix+"status:"+s, s, "pod status")
		if err != nil {
			return Queries{}, err
		}
		q.status = append(q.status, name)
	}
	return q, nil
}

// keep reports whether f keeps a sample named name.
func (f Filter) keep(name string) bool {
	return f.Match == nil || f.Match.MatchString(name)
}
