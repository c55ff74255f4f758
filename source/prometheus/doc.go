// Package prometheus is a source.MetricsSource that answers the registered queries from a
// server with Prometheus' HTTP API (Prometheus, Thanos, Mimir, VictoriaMetrics), through
// client_golang's api/prometheus/v1. It is the backend to move to when one controller
// scraping a few Services directly is no longer enough; docs/backends.md of this module
// says when, and how to switch with no code change.
//
// Its shape is the upstream autoscaler's Prometheus source (NewPrometheusSource,
// DefaultPrometheusSourceConfig, MustGet), so code written for it compiles unchanged,
// and its answers are the pod source's (source/pod): the same templates filled and
// escaped by source.FillTemplate, the same result shapes, the same cache.
//
// # Queries
//
// A QueryTypePromQL query is sent as filled; a QueryTypeMetricName query becomes a plain
// selector of its name. Every query of one Refresh is evaluated at one instant, the
// source's clock at the start of the Refresh, which is each result's CollectedAt.
// Results: an instant vector gives one MetricValue per series with its labels, Timestamp
// the evaluation time (Prometheus' API stamps every sample of an instant vector with it,
// whatever the age of the sample behind it); a scalar gives one unlabelled value, also at
// the evaluation time; a range vector gives each series' latest sample at its own time.
// So MetricValue.IsStale and Age cannot see old data here: staleness on this backend is
// the server's lookback (5 minutes by default), past which a series is absent from the
// answer; a query that needs a sample's age asks for it (time() - timestamp(x)). NaN and
// ±Inf are kept as they are: they are answers, not zeros.
// Native histogram samples have no MetricValue form: they are left out, and a warning
// says how many.
//
// # Errors
//
// A query that fails has no values and an Error, a *QueryError naming the query, its
// expression and the URL that answered, whose cause errors.As finds (a *v1.Error carries
// the server's message, context.DeadlineExceeded a QueryTimeout, ErrNoResult a 200 whose
// body holds no query result, ErrPartialAnswer a 200 the server said is partial: a
// VictoriaMetrics cluster's "isPartial": true, Thanos' "No StoreAPIs matched"); the
// other queries of the Refresh still answer. When every query fails, Refresh returns an
// error wrapping ErrAllQueriesFailed. The server's warnings and infos are kept in
// MetricResult.Warnings. NewAPI asks Thanos and VictoriaMetrics for whole answers
// (partial_response=false, deny_partial_response=1) unless its URL accepts partial ones.
//
// Transient failures (connection refused or reset, HTTP 429, 502, 503 and 504) are
// retried with exponential backoff and jitter while QueryTimeout allows, never sooner
// than a Retry-After asks; any other 4xx (bad PromQL: 400 or 422) and every other error
// are not, nor is a 503 of errorType "unavailable" (the server has no data to answer
// from) unless it says Retry-After (podscrape serve's Service not scraped yet), read
// through an API built by NewAPI.
//
// # Caching and concurrency
//
// Results are cached under source.BuildCacheKey(name, params) (metric-name queries take
// no params: under the name alone) in a source.Cache: Get reads an immutable snapshot,
// never waits and does no I/O; a failed query never replaces a cached value; a result
// never replaces one evaluated later. Concurrent Refreshes that need the same expression
// at the same instant (millisecond) share one request, and only those: a Refresh never
// takes an answer evaluated at another instant. A caller that gives up leaves the request
// to the others, and it is cancelled when every caller has gone.
//
// # Connecting
//
// NewAPI builds the v1.API from a ClientConfig: the URL, a bearer token inline or from a
// file re-read when it changes (a projected ServiceAccount token), a CA bundle, a server
// name, an insecure switch, extra headers (X-Scope-OrgID for a Thanos or Mimir tenant),
// and a cap on response bodies. The token goes only to the configured host and never
// into an error or a log line.
//
// # Side effects
//
// Importing the package registers nothing and starts nothing. A source logs only through
// the logr.Logger in the context it is given (retries, at V(1)).
package prometheus
