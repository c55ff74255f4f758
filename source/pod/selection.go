package pod

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/podscrape/podscrape/source"
)

// AllMetricsQuery is the query every PodScrapingSource registers: a QueryTypeMetricName
// query whose Template is "all_metrics" selects every sample of every pod. Any other
// metric-name Template selects the samples named so, or of the family named so (a
// histogram's name selects its _bucket, _sum and _count series), and each pod's up.
const AllMetricsQuery = "all_metrics"

// ErrUnsupportedQuery is a query result's Error when the query's type is neither
// QueryTypeMetricName nor QueryTypePromQL. QueryList.Register refuses other types, so it
// is kept for code that checks for it; no registered query gets it.
var ErrUnsupportedQuery = errors.New("query type not supported by pod scraping")

// selection is what one scrape of the pods must keep, derived from the queries it
// answers. It is immutable once built: parsers read it concurrently.
type selection struct {
	key     string                 // the query names, sorted and joined: refreshes with one key are alike
	queries []source.QueryTemplate // sorted by name, distinct
	all     bool                   // some query wants every sample
	asked   []string               // distinct templates of the metric-name queries asked
	// names are the metric names whose samples are indexed per pod (podScrape.matches):
	// the asked ones and, when every sample is kept anyway, every metric-name template
	// registered, so a refresh asking for any of them can share this scrape.
	names []string
	index map[string]int // names -> position
	// hist is what the history of the registered PromQL queries stores: every scrape
	// keeps it, whatever the queries asked, so the history sees every scrape.
	hist storedNames
}

// newSelection builds the selection of queries (sorted by name, distinct). registered are
// the source's registered queries.
func newSelection(queries, registered []source.QueryTemplate, hist storedNames) *selection {
	names := make([]string, len(queries))
	for i, q := range queries {
		names[i] = q.Name
	}
	sel := &selection{key: strings.Join(names, "\x00"), queries: queries, index: map[string]int{}}
	for _, q := range queries {
		switch {
		case q.Type != source.QueryTypeMetricName:
		case q.Template == AllMetricsQuery:
			sel.all = true
		default:
			if !slices.Contains(sel.asked, q.Template) {
				sel.asked = append(sel.asked, q.Template)
			}
			sel.addName(q.Template)
		}
	}
	sel.hist = hist
	if hist.all {
		sel.all = true
	}
	for _, name := range hist.sorted() {
		sel.addName(name)
	}
	if sel.all {
		for _, q := range registered {
			if q.Type == source.QueryTypeMetricName && q.Template != AllMetricsQuery {
				sel.addName(q.Template)
			}
		}
	}
	return sel
}

func (sel *selection) addName(name string) {
	if _, ok := sel.index[name]; !ok {
		sel.index[name] = len(sel.names)
		sel.names = append(sel.names, name)
	}
}

// covers reports whether a scrape for sel answers every query of want: it keeps every
// sample when want needs them all, indexes every metric want names, and stores in the
// history every metric want's PromQL queries read. The history stores sel.hist alone: a
// metric sel indexes for a metric-name query, or keeps for all_metrics, is not stored
// there, so a PromQL query reading it would find ErrNoHistory in that scrape.
func (sel *selection) covers(want *selection) bool {
	if want.all && !sel.all {
		return false
	}
	for _, name := range want.asked {
		if _, ok := sel.index[name]; !ok {
			return false
		}
	}
	if want.hist.all && !sel.hist.all {
		return false
	}
	for name := range want.hist.names {
		if !sel.hist.keeps(name) {
			return false
		}
	}
	return true
}

// merge returns the selection of the queries of a and b together.
func merge(a, b *selection, registered []source.QueryTemplate, hist storedNames) *selection {
	queries := slices.Concat(a.queries, b.queries)
	// sort.Slice, not slices.SortFunc: a generic sort is compiled anew for each element
	// type, about 15 KB of every importer's binary for this one (BENCH.md, binary size).
	sort.Slice(queries, func(i, j int) bool { return queries[i].Name < queries[j].Name })
	n := 0
	for i, q := range queries {
		if i == 0 || q.Name != queries[n-1].Name {
			queries[n] = q
			n++
		}
	}
	return newSelection(queries[:n], registered, hist)
}

// wants reports whether a sample named name, of family family, answers some query.
func (sel *selection) wants(name, family string) bool {
	if _, ok := sel.index[name]; ok {
		return true
	}
	_, ok := sel.index[family]
	return ok
}

// results assembles one MetricResult per query of queries from the pods' scrapes under
// sel, in pod order. sel must cover every query.
func (sel *selection) results(pods []podScrape, queries []source.QueryTemplate, collectedAt time.Time) map[string]*source.MetricResult {
	var errs []error
	total := 0
	for i := range pods {
		if pods[i].err != nil {
			errs = append(errs, pods[i].err)
		}
		total += len(pods[i].values)
	}
	podErr := errors.Join(errs...)

	out := make(map[string]*source.MetricResult, len(queries))
	var all []source.MetricValue
	for _, q := range queries {
		r := &source.MetricResult{QueryName: q.Name, CollectedAt: collectedAt, Error: podErr}
		switch {
		case q.Type == source.QueryTypePromQL:
			continue // answered from the history: see evalPromQL
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
			r.Values = gather(pods, sel.index[q.Template], q.Template != upName)
		}
		// Shared by every caller and the cache: with no room past its length (gather's
		// has some), a caller's append copies instead of writing where another
		// reader's would.
		r.Values = slices.Clip(r.Values)
		out[q.Name] = r
	}
	return out
}

// gather collects the values of the metric-name query at position q of every pod,
// followed by the pod's up when withUp, so a result alone tells which pods answered.
func gather(pods []podScrape, q int, withUp bool) []source.MetricValue {
	n := 0
	for i := range pods {
		n += len(pods[i].matches[q]) + 1
	}
	values := make([]source.MetricValue, 0, n)
	for i := range pods {
		for _, idx := range pods[i].matches[q] {
			values = append(values, pods[i].values[idx])
		}
		if withUp {
			values = append(values, pods[i].values[pods[i].up])
		}
	}
	return values
}
