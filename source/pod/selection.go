package pod

import (
	"errors"
	"fmt"
	"time"

	"github.com/podscrape/podscrape/source"
)

// AllMetricsQuery is the query every PodScrapingSource registers: a QueryTypeMetricName
// query whose Template is "all_metrics" selects every sample of every pod. Any other
// metric-name Template selects the samples named so, or of the family named so (a
// histogram's name selects its _bucket, _sum and _count series).
const AllMetricsQuery = "all_metrics"

// ErrUnsupportedQuery is a query result's Error when the query's type is not
// QueryTypeMetricName: pods expose samples, not a query language.
var ErrUnsupportedQuery = errors.New("query type not supported by pod scraping")

// selection is what one refresh must keep from each pod, derived from its queries.
type selection struct {
	key     string // the refresh's query names, joined: refreshes with one key share
	queries []source.QueryTemplate
	all     bool     // some query wants every sample
	names   []string // distinct metric names wanted by metric-name queries
	set     map[string]struct{}
}

func newSelection(key string, queries []source.QueryTemplate) *selection {
	sel := &selection{key: key, queries: queries, set: map[string]struct{}{}}
	for _, q := range queries {
		switch {
		case q.Type != source.QueryTypeMetricName:
		case q.Template == AllMetricsQuery:
			sel.all = true
		default:
			if _, dup := sel.set[q.Template]; !dup {
				sel.set[q.Template] = struct{}{}
				sel.names = append(sel.names, q.Template)
			}
		}
	}
	return sel
}

// wants reports whether a sample named name, of family family, answers some query.
func (sel *selection) wants(name, family string) bool {
	if _, ok := sel.set[name]; ok {
		return true
	}
	_, ok := sel.set[family]
	return ok
}

// results assembles one MetricResult per query from the pods' scrapes, in pod order.
func (sel *selection) results(pods []podScrape, collectedAt time.Time) map[string]*source.MetricResult {
	var errs []error
	total := 0
	for i := range pods {
		if pods[i].err != nil {
			errs = append(errs, pods[i].err)
		}
		total += len(pods[i].values)
	}
	podErr := errors.Join(errs...)

	out := make(map[string]*source.MetricResult, len(sel.queries))
	var all []source.MetricValue
	for _, q := range sel.queries {
		r := &source.MetricResult{QueryName: q.Name, CollectedAt: collectedAt, Error: podErr}
		switch {
		case q.Type != source.QueryTypeMetricName:
			r.Error = fmt.Errorf("query %q of type %q: %w", q.Name, q.Type, ErrUnsupportedQuery)
		case q.Template == AllMetricsQuery:
			if all == nil {
				all = make([]source.MetricValue, 0, total)
				for i := range pods {
					all = append(all, pods[i].values...)
				}
			}
			r.Values = all
		default:
			r.Values = gather(pods, sel.index(q.Template))
		}
		out[q.Name] = r
	}
	return out
}

func (sel *selection) index(name string) int {
	for i, n := range sel.names {
		if n == name {
			return i
		}
	}
	return -1
}

func gather(pods []podScrape, q int) []source.MetricValue {
	n := 0
	for i := range pods {
		n += len(pods[i].matches[q])
	}
	values := make([]source.MetricValue, 0, n)
	for i := range pods {
		for _, idx := range pods[i].matches[q] {
			values = append(values, pods[i].values[idx])
		}
	}
	return values
}
