// Package pod is a source.MetricsSource that scrapes Prometheus-format metrics straight
// from the Ready pods behind a Kubernetes Service, with no Prometheus server in between.
//
// The usage guide is docs/guide.md of this module; docs/library.md records every
// behaviour in detail.
//
// # Usage
//
// NewPodScrapingSource takes any client.Reader (an uncached client, or a manager's cached
// client, which serves discovery from informers) and a PodScrapingSourceConfig naming the
// Service and the pods' metrics port; a field it refuses is a *ConfigError naming it
// (PodScrapingSourceConfig.Validate checks a config without building a source).
// Refresh discovers the Ready pods, scrapes each once, caches the results and returns
// them by query name; Get serves the cache without I/O.
// AllMetricsQuery is registered from the start; register QueryTypeMetricName queries on
// QueryList for one metric each. ScrapeSeries scrapes every pod once and returns its
// samples as Prometheus series (labels.Labels, with namespace and instance) built straight
// from the parser, for a caller that stores every series (podscrape serve): no
// MetricValue map per sample, each pod's series labels reused from its last scrape, a
// line exposed as last time not parsed again but for its value, and a slot per series
// (SeriesSample.Ref) for the caller's own handle on it. ScrapeSeriesReport returns with
// them, from the same discovery, the pods the Service selects that it did not scrape
// (not Ready, finished), each with its UID.
//
// # PromQL
//
// QueryTypePromQL queries are evaluated by Prometheus' own engine over an in-memory
// history of the source's scrapes, with {{.param}} placeholders filled from
// RefreshSpec.Params by source.FillTemplate. Series carry the exposed labels plus
// namespace, pod, instance (<pod IP>:<port>) and the mapped PodLabels; a pod that
// fails or goes gets staleness markers, as Prometheus writes them. Range functions
// need samples over their window: refresh often enough, or set ScrapeInterval and
// run Start (a manager.Runnable). HistoryRetention and HistorySeriesLimit bound the
// history; ErrHistorySeriesLimit reports refused series.
// A window the history does not cover yet is never a silent small number: a function
// that adds up over time (increase) gets an Error wrapping ErrPartialWindow, its values a
// lower bound (hold a scale-to-zero); an estimate (rate) a warning, or, while it has no
// value at all (a rate over a single scrape), an Error wrapping ErrPartialWindow; a
// metric not stored yet, ErrNoHistory. Package github.com/podscrape/podscrape/source/llmd
// holds the autoscaler's queries.
//
// # Samples
//
// One source.MetricValue per exposed sample, named as exposed, with the exposed labels
// plus __name__ and pod; per pod, up, scrape_duration_seconds and
// scrape_samples_scraped as Prometheus writes them. Every all_metrics and metric-name
// result carries each scraped pod's up sample, so source.MetricResult's PodValues and
// PodStatuses tell a pod that is down from one without the metric; a PromQL result holds
// only the points its expression evaluates to, and in its Error the failed pods' errors,
// so PodValues and PodStatuses say those pods are down there too.
//
// # Failures
//
// A pod that fails gives up 0 and a *ScrapeError (a source.PodError) joined into the
// result's Error; the Reason constants classify it. Every pod failing is an error
// wrapping ErrAllPodsFailed. A failed refresh never replaces a cached value.
//
// # Side effects
//
// Importing the package registers no flag and starts nothing. A source logs only through
// the logr.Logger in the context it is given, and exports metrics only to the
// PodScrapingSourceConfig.Registerer it is given. Close stops its scrape loop and
// releases its connections and history, and its share of its Service's metrics (the
// last source of the Service on the Registerer to close unregisters them).
//
// # Testing
//
// Package github.com/podscrape/podscrape/podscrapetest runs loopback pods behind a Service
// on a real API server, to test code built on this package.
package pod
