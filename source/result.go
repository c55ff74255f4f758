package source

import "time"

// MetricResult is the outcome of one query in one Refresh.
//
// A result can carry both Values and an Error: a query answered by some backends (pods)
// but not others holds what was collected and says in Error what was not.
type MetricResult struct {
	// QueryName is the registered name of the query (e.g. "all_metrics").
	QueryName string
	// Values are the samples the query produced. Shared: read-only.
	Values []MetricValue
	// CollectedAt is when the collection behind these values started.
	CollectedAt time.Time
	// Error is non-nil when the query failed in whole or in part; errors.Is and
	// errors.As see through it to each cause.
	Error error
}

// MetricValue is one sample.
type MetricValue struct {
	// Value is the sample value; NaN and ±Inf are possible.
	Value float64
	// Timestamp is when the value was sampled: the exposition's own timestamp when it had
	// one, else the time of the scrape.
	Timestamp time.Time
	// Labels are the sample's labels, "__name__" included. Shared: read-only.
	Labels map[string]string
}
