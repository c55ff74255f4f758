package serve

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// serverMetrics are the server's own metrics, beside those of its sources.
type serverMetrics struct {
	scrapes     *prometheus.CounterVec
	unavailable *prometheus.CounterVec
	lastScrape  *prometheus.GaugeVec
	queries     *prometheus.CounterVec
	waiting     prometheus.Gauge
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
			Help: "Scrapes of a Service that gave no data: discovery failed or every pod failed.",
		}, []string{"service"}),
		lastScrape: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "podscrape_serve_last_scrape_timestamp_seconds",
			Help: "Start of the latest scrape of a Service, in Unix seconds.",
		}, []string{"service"}),
		queries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "podscrape_serve_queries_total",
			Help: "PromQL requests answered, by endpoint and errorType (\"\" for success).",
		}, []string{"endpoint", "error_type"}),
	}
	m.waiting = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "podscrape_serve_queries_waiting_for_scrape",
		Help: "Queries waiting for a scrape of the Services they read, older than --max-age.",
	})
	m.collectors = []prometheus.Collector{m.scrapes, m.unavailable, m.lastScrape, m.queries, m.waiting}
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
