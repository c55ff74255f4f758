package prometheus

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"

	"github.com/podscrape/podscrape/source"
)

var _ source.MetricsSource = (*PrometheusSource)(nil)

// PrometheusSource is a source.MetricsSource that evaluates its queries on a server with
// Prometheus' HTTP API. Create it with NewPrometheusSource; the zero value is not usable.
// It is safe for concurrent use.
type PrometheusSource struct {
	api     v1.API
	config  PrometheusSourceConfig
	queries *source.QueryList
	cache   *source.Cache
	flights flights // one request per expression and evaluation time in flight
}

// NewPrometheusSource returns a source querying api (see NewAPI) with config, whose zero
// fields take their defaults. ctx is not retained. The query list starts empty: register
// the queries to run on QueryList. A nil api is reported by every Refresh.
func NewPrometheusSource(ctx context.Context, api v1.API, config PrometheusSourceConfig) *PrometheusSource {
	cfg := config.withDefaults()
	return &PrometheusSource{
		api:     api,
		config:  cfg,
		queries: source.NewQueryList(),
		cache:   source.NewCache(cfg.Clock),
	}
}

// QueryList returns the source's query registry.
func (s *PrometheusSource) QueryList() *source.QueryList { return s.queries }

// Get returns the cached result of queryName for params, or nil when there is none or it
// expired. A metric-name query takes no params: its result is found with any. Get does no
// I/O and never waits for a Refresh. The value is shared: read-only.
func (s *PrometheusSource) Get(queryName string, params map[string]string) *source.CachedValue {
	return s.cache.Get(source.BuildCacheKey(queryName, cacheParams(s.queries, queryName, params)))
}

// MustGet returns the cached result of queryName for params, else refreshes that one
// query and returns its result. It always returns a result: a failure is in its Error. The
// result is shared: read-only.
func (s *PrometheusSource) MustGet(ctx context.Context, queryName string, params map[string]string) *source.MetricResult {
	if cached := s.Get(queryName, params); cached != nil {
		return &cached.Result
	}
	results, err := s.Refresh(ctx, source.RefreshSpec{Queries: []string{queryName}, Params: params})
	if r := results[queryName]; r != nil {
		return r
	}
	if err == nil {
		err = fmt.Errorf("query %q: no result", queryName)
	}
	return &source.MetricResult{QueryName: queryName, CollectedAt: s.config.Clock.Now(), Error: err}
}

// Refresh evaluates the queries of spec (none named: every registered query) with
// spec.Params at one instant, the source's clock now, caches the answers and returns every
// result by query name.
//
// A query that fails has a result with no values and an Error (a *QueryError); its cached
// value, if any, stays. The others still answer, and Refresh returns a nil error. When
// every query fails, Refresh returns the results and an error wrapping
// ErrAllQueriesFailed that joins their errors. An unknown query name or a nil api is an
// error with no results. So is ctx ending before every query answered: Refresh returns
// its error, naming the queries that had not answered, and caches nothing, not even the
// queries that had, as the pod source does (a cancelled Refresh is no answer). The returned map is the caller's; the
// results in it are shared and read-only.
func (s *PrometheusSource) Refresh(ctx context.Context, spec source.RefreshSpec) (map[string]*source.MetricResult, error) {
	queries, err := s.queries.Resolve(spec.Queries)
	if err != nil {
		return nil, fmt.Errorf("refresh prometheus source: %w", err)
	}
	if s.api == nil {
		return nil, errors.New("refresh prometheus source: api is nil")
	}
	if len(queries) == 0 {
		return map[string]*source.MetricResult{}, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("refresh prometheus source: %w", err)
	}

	at := s.config.Clock.Now()
	results := make([]*source.MetricResult, len(queries))
	slots := make(chan struct{}, s.config.MaxConcurrentQueries)
	var wg sync.WaitGroup
	for i, q := range queries {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break // the Refresh fails below: start no request for it
		}
		wg.Go(func() {
			defer func() { <-slots }()
			results[i] = s.evaluate(ctx, q, spec.Params, at)
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		// Say what the caller was waiting for: the queries that had not answered (the
		// server's slow ones), else "context deadline exceeded" is all an operator sees.
		var waiting []string
		for i, r := range results {
			if r == nil || errors.Is(r.Error, err) {
				waiting = append(waiting, queries[i].Name)
			}
		}
		if len(waiting) == 0 {
			return nil, fmt.Errorf("refresh prometheus source: %w", err)
		}
		named := waiting[:min(len(waiting), maxNamedQueries)]
		more := ""
		if len(waiting) > len(named) {
			more = fmt.Sprintf(" and %d more", len(waiting)-len(named))
		}
		return nil, fmt.Errorf("refresh prometheus source: %w (waiting for %d of %d queries: %s%s)",
			err, len(waiting), len(queries), strings.Join(named, ", "), more)
	}

	out := make(map[string]*source.MetricResult, len(results))
	entries := make([]source.CacheEntry, 0, len(results))
	var errs []error
	for i, r := range results {
		out[r.QueryName] = r
		if r.Error != nil {
			errs = append(errs, r.Error)
			continue
		}
		entries = append(entries, source.CacheEntry{Result: r, Params: cacheParams(s.queries, queries[i].Name, spec.Params)})
	}
	s.cache.SetAll(entries, s.config.DefaultTTL)
	if len(errs) == len(results) {
		return out, fmt.Errorf("refresh prometheus source: %w (%d queries): %w",
			ErrAllQueriesFailed, len(results), errors.Join(errs...))
	}
	return out, nil
}

// maxNamedQueries bounds the queries an error names.
const maxNamedQueries = 10

// evaluate fills q with params and runs it at time at, sharing the request with any
// caller running the same expression at the same instant.
func (s *PrometheusSource) evaluate(ctx context.Context, q source.QueryTemplate, params map[string]string, at time.Time) *source.MetricResult {
	r := &source.MetricResult{QueryName: q.Name, CollectedAt: at}
	expr, err := expression(q, params)
	if err != nil {
		r.Error = &QueryError{Query: q.Name, Err: err}
		return r
	}
	caller, _ := ctx.Deadline() // the request runs on a context without it (flights)
	a, err := s.flights.do(ctx, flightKey(expr, at), func(ctx context.Context) answer { return s.query(ctx, expr, at, caller) })
	if err != nil {
		r.Error = &QueryError{Query: q.Name, Expr: expr, Err: err}
		return r
	}
	if a.err != nil {
		r.Error = &QueryError{Query: q.Name, Expr: expr, Attempts: a.attempts, URL: a.url, Err: a.err}
		return r
	}
	// Shared by every caller and the cache: with no room past their length, a caller's
	// append copies instead of writing where another reader's would.
	r.Values, r.Warnings = slices.Clip(a.values), slices.Clip(a.warnings)
	return r
}

// cacheParams returns the params a result of queryName is cached with: none for a
// metric-name query, which takes none.
func cacheParams(queries *source.QueryList, queryName string, params map[string]string) map[string]string {
	if q := queries.Get(queryName); q != nil && q.Type == source.QueryTypeMetricName {
		return nil
	}
	return params
}

// flightKey is the key of a request in flight: the expression and the millisecond it is
// evaluated at (what the server is sent). A Refresh joins only a request for its own
// instant: one for an earlier instant would give it an older answer, and its queries
// would no longer all be evaluated at one instant.
func flightKey(expr string, at time.Time) string {
	return strconv.FormatInt(at.Truncate(time.Millisecond).UnixMilli(), 10) + "@" + expr
}
