// Package source defines the contract between metric backends and the engines that read
// them: a MetricsSource refreshes named queries into MetricResults and serves them from a
// TTL cache.
//
// # Queries
//
// Every source owns a QueryList of QueryTemplates. A RefreshSpec names the queries to run
// (none: all registered ones); results come back keyed by query name, and are cached under
// that name so Get can serve them later without I/O.
//
// # Caching
//
// The Cache holds an immutable snapshot of entries behind an atomic pointer: Get never
// waits on a Refresh in flight, and a failed Refresh leaves the last good value in place
// until its TTL runs out.
//
// # Ownership
//
// MetricResults returned by Refresh and Get are shared between callers and the cache.
// Treat them, their Values and their Labels maps as read-only.
package source
