package source

import "context"

// MetricsSource is a backend that turns registered queries into metric values: a
// Prometheus server, or the pods behind a Service scraped directly.
//
// Implementations are safe for concurrent use.
type MetricsSource interface {
	// QueryList returns the source's query registry. Register queries on it before
	// naming them in a RefreshSpec.
	QueryList() *QueryList

	// Refresh runs the queries of spec, caches their results and returns them keyed by
	// query name. The returned results are shared with the cache: treat them as read-only.
	Refresh(ctx context.Context, spec RefreshSpec) (map[string]*MetricResult, error)

	// Get returns the cached result of queryName for params, or nil when there is none or
	// it has expired. It does no I/O and never waits for a Refresh in flight. The value
	// is shared with every other reader: read-only (see CachedValue, MetricResult).
	// params is only read.
	Get(queryName string, params map[string]string) *CachedValue
}

// RefreshSpec says which queries a Refresh runs.
type RefreshSpec struct {
	// Queries names registered queries. Empty means every registered query.
	Queries []string
	// Params fills the PromQL queries' {{.param}} placeholders (see FillTemplate), on
	// every source; metric-name queries take none and ignore it.
	Params map[string]string
}
