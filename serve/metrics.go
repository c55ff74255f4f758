package serve

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/podscrape/podscrape/internal/history"
)

// Values of podscrape_serve_history_samples_refused_total's reason label, those of the
// library's podscrape_history_samples_refused_total, all exported from zero.
const (
	refusedTooFarAhead = "too_far_ahead" // own timestamp over 10 minutes ahead of its scrape
	refusedOutOfOrder  = "out_of_order"  // own timestamp before its series' newest, or the retention
	refusedSeriesLimit = "series_limit"  // a new series past the Service's series limit
)

// serverMetrics are the server's own metrics, beside those of its sources.
type serverMetrics struct {
	scrapes     *prometheus.CounterVec
	unavailable *prometheus.CounterVec
	lastScrape  *prometheus.GaugeVec
	queries     *prometheus.CounterVec
	waiting     prometheus.Gauge
	refused     *prometheus.CounterVec
	resets      *prometheus.CounterVec
	partial     *prometheus.CounterVec
	collectors  []prometheus.Collector
}

func newServerMetrics(reg prometheus.Registerer) (*serverMetrics, error) {
	m := &serverMetrics{
		scrapes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "podscrape_serve_scrapes_total",
			Help: "Scrapes of a Service's pods (one refresh of every Ready pod), by Service.",
		}, []string{"service"}),
		unavailable: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "podscrape_serve_scrapes_unavailable_total",
			Help: "Scrapes of a Service that gave no data, by Service: discovery or the token Secret failed, no selected pod was Ready, or every pod failed.",
		}, []string{"service"}),
		lastScrape: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "podscrape_serve_last_scrape_timestamp_seconds",
			Help: "Start of the latest scrape of a Service, in Unix seconds.",
		}, []string{"service"}),
		queries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "podscrape_serve_queries_total",
			Help: "PromQL requests answered, by endpoint (query, query_range) and error_type (the answer's errorType, \"\" for success).",
		}, []string{"endpoint", "error_type"}),
	}
	m.waiting = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "podscrape_serve_queries_waiting_for_scrape",
		Help: "Queries waiting for a scrape of the Services they read, older than --max-age.",
	})
	// The sources' podscrape_history_samples_refused_total counts the library's history,
	// which serve's sources do not keep: serve's own histories count here.
	m.refused = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "podscrape_serve_history_samples_refused_total",
		Help: "Samples a Service's history did not store, by Service and reason (too_far_ahead: an own timestamp more than 10 minutes ahead of its scrape; out_of_order: an own timestamp before its series' newest sample or the retention; series_limit: a new series past the Service's series limit).",
	}, []string{"service", "reason"})
	m.resets = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "podscrape_serve_history_resets_total",
		Help: "Times a Service's history started over, by Service: a scrape a second or more before the newest it held (the clock stepped back); its windows fill again from there, as after a start.",
	}, []string{"service"})
	m.partial = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "podscrape_serve_partial_window_queries_total",
		Help: "PromQL requests with a window or selector reaching before what a Service's history holds (after a start, a clock step, or past the retention) or a window starting in a gap of its scrapes, by Service: each answered 422, or with a warning (a rate estimated over the span held; anything under --allow-partial-windows).",
	}, []string{"service"})
	// Every answer of each endpoint from zero, as addService's counters: a series born
	// at the first timeout has no baseline, and increase(...) > 0 misses it.
	for _, endpoint := range []string{"query", "query_range"} {
		for _, typ := range []errorType{"", errorBadData, errorExec, errorCanceled, errorTimeout, errorInternal, errorUnavailable} {
			m.queries.WithLabelValues(endpoint, string(typ))
		}
	}
	m.collectors = []prometheus.Collector{m.scrapes, m.unavailable, m.lastScrape, m.queries, m.waiting, m.refused, m.resets, m.partial}
	for i, c := range m.collectors {
		if err := reg.Register(c); err != nil {
			for _, done := range m.collectors[:i] {
				reg.Unregister(done)
			}
			return nil, err
		}
	}
	return m, nil
}

func (m *serverMetrics) unregister(reg prometheus.Registerer) {
	for _, c := range m.collectors {
		reg.Unregister(c)
	}
}

// addService exports the per-Service counters of service at zero, before its first
// scrape: a counter whose series is born at 1 has no baseline, so increase(...) > 0 would
// miss a Service's first outage (the source's counters start at zero likewise).
func (m *serverMetrics) addService(service string) {
	m.scrapes.WithLabelValues(service)
	m.unavailable.WithLabelValues(service)
	m.resets.WithLabelValues(service)
	m.partial.WithLabelValues(service)
	for _, r := range []string{refusedTooFarAhead, refusedOutOfOrder, refusedSeriesLimit} {
		m.refused.WithLabelValues(service, r)
	}
}

// observeRefused counts what one Append to service's history refused.
func (m *serverMetrics) observeRefused(service string, st history.AppendStats) {
	m.refused.WithLabelValues(service, refusedTooFarAhead).Add(float64(st.Future))
	m.refused.WithLabelValues(service, refusedOutOfOrder).Add(float64(st.Rejected))
	m.refused.WithLabelValues(service, refusedSeriesLimit).Add(float64(st.Refused))
}

// observePartial counts a query reading a window of service before what its history
// holds.
func (m *serverMetrics) observePartial(service string) {
	m.partial.WithLabelValues(service).Inc()
}

// observeReset counts service's history starting over.
func (m *serverMetrics) observeReset(service string) {
	m.resets.WithLabelValues(service).Inc()
}

func (m *serverMetrics) observeScrape(service string, st *scrapeState) {
	m.scrapes.WithLabelValues(service).Inc()
	if st.unavailable() {
		m.unavailable.WithLabelValues(service).Inc()
	}
	m.lastScrape.WithLabelValues(service).Set(float64(st.start.UnixMilli()) / 1000)
}

func (m *serverMetrics) observeQuery(endpoint string, err error) {
	typ := ""
	var ae *apiError
	if errors.As(err, &ae) {
		typ = string(ae.typ)
	} else if err != nil {
		typ = string(errorInternal)
	}
	m.queries.WithLabelValues(endpoint, typ).Inc()
}

// historyCollector exports, per Service, the series its history holds and the most it
// may hold: their ratio nearing 1 is the history filling up, before the series of new
// pods are refused (podscrape_serve_history_samples_refused_total{reason="series_limit"}).
type historyCollector struct {
	held, limit *prometheus.Desc
	services    []*service
}

func newHistoryCollector(services []*service) *historyCollector {
	return &historyCollector{
		held: prometheus.NewDesc("podscrape_serve_history_series",
			"Series a Service's history holds (those gone stale within the retention too), by Service.",
			[]string{"service"}, nil),
		limit: prometheus.NewDesc("podscrape_serve_history_series_limit",
			"The most series a Service's history holds (its seriesLimit, or --series-limit), by Service: past it, new series are refused.",
			[]string{"service"}, nil),
		services: services,
	}
}

func (c *historyCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.held
	ch <- c.limit
}

func (c *historyCollector) Collect(ch chan<- prometheus.Metric) {
	for _, svc := range c.services {
		ch <- prometheus.MustNewConstMetric(c.held, prometheus.GaugeValue, float64(svc.hist.NumSeries()), svc.key)
		ch <- prometheus.MustNewConstMetric(c.limit, prometheus.GaugeValue, float64(svc.hist.SeriesLimit()), svc.key)
	}
}
