package source

import "time"

// MetricResult is the outcome of one query in one Refresh.
//
// A result can carry both Values and an Error: a query answered by some backends (pods)
// but not others holds what was collected and says in Error what was not.
//
// Its methods are safe on a nil *MetricResult (a query missing from a Refresh's map): nil
// has no values and no error, and is stale. They read the wall clock.
type MetricResult struct {
	// QueryName is the registered name of the query (e.g. "all_metrics").
	QueryName string
	// Values are the samples the query produced. Shared with the cache and every other
	// caller: read-only (sort or edit a copy, slices.Clone). Its capacity is its length,
	// so an append copies and leaves the shared array alone.
	Values []MetricValue
	// CollectedAt is when the collection behind these values started: on the pod
	// source, the start of the scrape behind a metric-name result, and for a PromQL
	// result its evaluation time, the newest pod scrape's start; on a Prometheus server,
	// the evaluation time, the source's clock at the start of the Refresh. The cache
	// orders a key's results by it (see Cache.SetAll).
	CollectedAt time.Time
	// Error is non-nil when the query failed in whole or in part; errors.Is and
	// errors.As see through it to each cause.
	Error error
	// Warnings are what the backend noted about the answer, as text; nil when there are
	// none: the query engine's (PromQL warnings and infos, such as "metric might not be a
	// counter"), and a source's own, such as a window the history covers only in part or
	// pods that turned not Ready whose series the answer leaves out (docs/library.md,
	// "What an autoscaler reads"). The answer stands: a warning is not an Error.
	// Shared: read-only, its capacity its length (see Values).
	Warnings []string
}

// IsStale reports whether the result is too old to act on: it has no values, or any of
// its values is stale (see MetricValue.IsStale). A nil result is stale.
func (r *MetricResult) IsStale(threshold time.Duration) bool {
	if r == nil || len(r.Values) == 0 {
		return true
	}
	for _, v := range r.Values {
		if v.IsStale(threshold) {
			return true
		}
	}
	return false
}

// OldestTimestamp returns the earliest Timestamp of the values; the zero time when there
// are none or r is nil.
func (r *MetricResult) OldestTimestamp() time.Time {
	if r == nil || len(r.Values) == 0 {
		return time.Time{}
	}
	oldest := r.Values[0].Timestamp
	for _, v := range r.Values[1:] {
		if v.Timestamp.Before(oldest) {
			oldest = v.Timestamp
		}
	}
	return oldest
}

// Age is the age of the oldest value (see OldestTimestamp); 0 when there is none, and
// when a value has no Timestamp (OldestTimestamp is then the zero time), which IsStale
// counts stale: test IsStale, not Age, for "too old to act on".
func (r *MetricResult) Age() time.Duration {
	oldest := r.OldestTimestamp()
	if oldest.IsZero() {
		return 0
	}
	return time.Since(oldest)
}

// HasError reports whether the query failed in whole or in part (Error is set). A nil
// result has no error: test it for nil, or use IsStale, to catch a missing query.
func (r *MetricResult) HasError() bool {
	return r != nil && r.Error != nil
}

// FirstValue returns the first value, or the zero MetricValue when there is none or r is
// nil. Useful for queries that yield one sample; the order of several is the source's.
func (r *MetricResult) FirstValue() MetricValue {
	if r == nil || len(r.Values) == 0 {
		return MetricValue{}
	}
	return r.Values[0]
}

// MetricValue is one sample. Its methods read the wall clock.
type MetricValue struct {
	// Value is the sample value; NaN and ±Inf are possible.
	Value float64
	// Timestamp is the value's time as the backend gives it. In a scraping source's
	// metric-name result it is when the value was sampled: the exposition's own timestamp
	// when it had one, else the time of the scrape. In a PromQL result it is PromQL's: an
	// instant vector's and a scalar's are the evaluation time, whatever the age of the
	// sample behind them (on a Prometheus server, a metric-name query is such a vector);
	// a range vector's are the samples' own.
	Timestamp time.Time
	// Labels are the sample's labels, "__name__" included. Shared: read-only.
	Labels map[string]string
}

// IsStale reports whether the sample is older than threshold, by its Timestamp: for a
// value stamped with its evaluation time (see Timestamp), only whether that evaluation is
// older. A sample without a Timestamp is stale.
func (v MetricValue) IsStale(threshold time.Duration) bool {
	if v.Timestamp.IsZero() {
		return true
	}
	return time.Since(v.Timestamp) > threshold
}

// Age is how long ago the sample was taken; 0 when it has no Timestamp.
func (v MetricValue) Age() time.Duration {
	if v.Timestamp.IsZero() {
		return 0
	}
	return time.Since(v.Timestamp)
}
