package prometheus

import (
	"time"

	"k8s.io/utils/clock"
)

// Defaults of PrometheusSourceConfig's fields.
const (
	// DefaultTTL is how long a result is served by Get.
	DefaultTTL = 30 * time.Second
	// DefaultQueryTimeout bounds one query, its retries included.
	DefaultQueryTimeout = 10 * time.Second
	// DefaultMaxConcurrentQueries bounds the requests one Refresh has in flight.
	DefaultMaxConcurrentQueries = 8
	// DefaultRetryBackoff is the wait before the first retry of a transient failure.
	DefaultRetryBackoff = 100 * time.Millisecond
	// DefaultMaxRetryBackoff caps the wait between retries.
	DefaultMaxRetryBackoff = 2 * time.Second
)

// PrometheusSourceConfig configures a PrometheusSource. Its zero value is usable: every
// field that is zero (or negative) takes its default. NewPrometheusSource copies it.
type PrometheusSourceConfig struct {
	// DefaultTTL is how long Get serves a result after it was stored. Zero: 30s.
	DefaultTTL time.Duration
	// QueryTimeout bounds each query, its retries included; what is left of it (or of
	// the Refresh context's deadline, when that is earlier) is also sent to the server
	// as the query's timeout, so that the server answers within the caller's time.
	// Zero: 10s.
	QueryTimeout time.Duration
	// MaxConcurrentQueries bounds the queries one Refresh has in flight. Zero: 8.
	MaxConcurrentQueries int
	// RetryBackoff is the wait before the first retry of a transient failure; it doubles
	// at every retry, with up to 20% jitter, up to MaxRetryBackoff. Zero: 100ms.
	RetryBackoff time.Duration
	// MaxRetryBackoff caps the wait between two retries. Zero: 2s.
	MaxRetryBackoff time.Duration
	// Clock tells the evaluation time of a Refresh and the time of the cache. Nil: the
	// wall clock. Timeouts and backoff always use real time.
	Clock clock.PassiveClock
}

// DefaultPrometheusSourceConfig returns the config with every default filled in: a TTL
// of 30s and a query timeout of 10s, as upstream's.
func DefaultPrometheusSourceConfig() PrometheusSourceConfig {
	return PrometheusSourceConfig{}.withDefaults()
}

// withDefaults returns c with its zero and negative fields defaulted.
func (c PrometheusSourceConfig) withDefaults() PrometheusSourceConfig {
	if c.DefaultTTL <= 0 {
		c.DefaultTTL = DefaultTTL
	}
	if c.QueryTimeout <= 0 {
		c.QueryTimeout = DefaultQueryTimeout
	}
	if c.MaxConcurrentQueries <= 0 {
		c.MaxConcurrentQueries = DefaultMaxConcurrentQueries
	}
	if c.RetryBackoff <= 0 {
		c.RetryBackoff = DefaultRetryBackoff
	}
	if c.MaxRetryBackoff <= 0 {
		c.MaxRetryBackoff = DefaultMaxRetryBackoff
	}
	if c.MaxRetryBackoff < c.RetryBackoff {
		c.MaxRetryBackoff = c.RetryBackoff
	}
	if c.Clock == nil {
		c.Clock = clock.RealClock{}
	}
	return c
}
