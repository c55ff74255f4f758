// Package source defines the contract between metric backends and the engines that read
// them: a MetricsSource refreshes named queries into MetricResults and serves them from a
// TTL cache. Its names and helpers are those of the upstream autoscaler's source package
// (llm-d workload-variant-autoscaler), so code written for that package compiles here
// with only its import path changed. The usage guide is docs/guide.md of this module.
//
// # Queries
//
// Every source owns a QueryList of QueryTemplates. A RefreshSpec names the queries to run
// (none: all registered ones) and the params that fill them; results come back keyed by
// query name, and are cached under BuildCacheKey(name, params) so Get can serve them
// later without I/O.
//
// # Reading results
//
// MetricResult and MetricValue carry the upstream helpers (IsStale, Age,
// OldestTimestamp, HasError, FirstValue), all safe on a nil result. For results of a
// scraping source, which carry an up sample per pod: ValuesByPod groups a metric's
// values by pod, PodValues tells "no such metric" (ErrNoSuchMetric) from "pod down"
// (ErrPodDown), and PodStatuses gives each pod's up, scrape duration, sample count and
// failure reason, from the samples and the PodErrors in the result's Error.
//
// # Caching
//
// The Cache holds an immutable snapshot of entries behind an atomic pointer: Get never
// waits on a Refresh in flight, a failed Refresh leaves the last good value in place
// until its TTL runs out, and a result never replaces one collected later. The rule is
// the same for every backend: the cache moves only forward, and only to answers; a
// result that failed (an Error and no Values) is returned but not cached, so Get keeps
// serving the last good one. A nil *CachedValue (a miss) is expired.
//
// # Registry
//
// A SourceRegistry holds sources by name (Register, Update, Unregister, Get), so an
// application switches backends by name.
//
// # Ownership
//
// MetricResults returned by Refresh and Get are shared between callers and the cache.
// Treat them, their Values and their Labels maps as read-only.
package source
