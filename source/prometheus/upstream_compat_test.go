package prometheus_test

// The upstream autoscaler's Prometheus source API (internal/collector/source/prometheus),
// pinned by method expressions: code written for it compiles here with only the import
// path changed.

import (
	"context"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"

	"github.com/podscrape/podscrape/source"
	"github.com/podscrape/podscrape/source/prometheus"
)

var (
	_ func(context.Context, v1.API, prometheus.PrometheusSourceConfig) *prometheus.PrometheusSource                    = prometheus.NewPrometheusSource
	_ func() prometheus.PrometheusSourceConfig                                                                         = prometheus.DefaultPrometheusSourceConfig
	_ func(*prometheus.PrometheusSource) *source.QueryList                                                             = (*prometheus.PrometheusSource).QueryList
	_ func(*prometheus.PrometheusSource, context.Context, source.RefreshSpec) (map[string]*source.MetricResult, error) = (*prometheus.PrometheusSource).Refresh
	_ func(*prometheus.PrometheusSource, string, map[string]string) *source.CachedValue                                = (*prometheus.PrometheusSource).Get
	_ func(*prometheus.PrometheusSource, context.Context, string, map[string]string) *source.MetricResult              = (*prometheus.PrometheusSource).MustGet

	_ source.MetricsSource              = (*prometheus.PrometheusSource)(nil)
	_ prometheus.PrometheusSourceConfig = prometheus.PrometheusSourceConfig{DefaultTTL: 30 * time.Second, QueryTimeout: 10 * time.Second}
)
