package pod

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/utils/clock"

	"github.com/podscrape/podscrape/internal/history"
)

// reasons are the values of podscrape_scrape_failures_total's reason label, exported at
// zero from the start so that a rate() over them has a baseline.
var reasons = []string{
	ReasonTimeout, ReasonCanceled, ReasonHTTPStatus, ReasonRedirect, ReasonBodyTooBig,
	ReasonSampleLimit, ReasonParse, ReasonFormat, ReasonTLS, ReasonConnect,
}

// Values of podscrape_history_samples_refused_total's reason label, all exported from zero.
const (
	refusedTooFarAhead = "too_far_ahead" // own timestamp over 10 minutes ahead of its scrape
	refusedOutOfOrder  = "out_of_order"  // own timestamp before its series' newest, or the retention
	refusedSeriesLimit = "series_limit"  // a new series past HistorySeriesLimit
)

// metrics are one source's handle on the Prometheus collectors of its Service on its
// Registerer, each with the const label service="namespace/name". A nil *metrics
// records nothing: a source without a Registerer pays a nil check per hook.
type metrics struct {
	*serviceMetrics // shared by the sources of the Service on the Registerer

	clock    clock.PassiveClock
	storedAt atomic.Int64 // unix nanoseconds of this source's last cache store, else of its creation

	unregistered atomic.Bool // set by the first unregister; see unregister
}

// serviceMetrics are the collectors of one Service on one Registerer, registered as one
// Collector and shared by every source of that Service on it: the replacement a
// controller builds before it closes the source it replaces (the order
// source.SourceRegistry.Update documents), the sources of two controllers. Their
// counters add up every source's scrapes and go on across a rebuild; the pod gauges
// hold the last discovery of any of them; the cache age is the oldest of theirs. The
// last source's Close unregisters them.
type serviceMetrics struct {
	reg prometheus.Registerer

	duration   prometheus.Histogram
	failures   *prometheus.CounterVec
	samples    prometheus.Counter
	duplicates prometheus.Counter
	refused    *prometheus.CounterVec
	discovered prometheus.Gauge
	ready      prometheus.Gauge
	discFailed prometheus.Counter
	cacheAge   prometheus.GaugeFunc
	resets     prometheus.Counter

	mu    sync.Mutex            // protects users, and holds a join off while the last user unregisters
	users map[*metrics]struct{} // the sources' handles; empty once unregistered
}

// maxRegisterAttempts bounds newMetrics' attempts to register or join a Service's
// metrics, each lost only to a concurrent Close or registration of the same Service.
const maxRegisterAttempts = 100

// newMetrics registers the collectors of the source of service on reg, or joins those a
// source of the same Service registered there; nil reg: no metrics. It fails, leaving
// reg as it was, when reg refuses them: metrics of the same names and service label
// that no source registered, or other metrics of those names with other labels or help.
func newMetrics(reg prometheus.Registerer, service string, clk clock.PassiveClock) (*metrics, error) {
	if reg == nil {
		return nil, nil
	}
	m := &metrics{clock: clk}
	m.storedAt.Store(clk.Now().UnixNano())
	for range maxRegisterAttempts {
		shared := newServiceMetrics(reg, service)
		shared.users[m] = struct{}{}
		err := reg.Register(shared)
		if err == nil {
			m.serviceMetrics = shared
			return m, nil
		}
		var are prometheus.AlreadyRegisteredError
		if !errors.As(err, &are) {
			return nil, fmt.Errorf("register metrics of service %s: %w", service, err)
		}
		existing, ok := are.ExistingCollector.(*serviceMetrics)
		if !ok {
			return nil, fmt.Errorf("register metrics of service %s: the Registerer holds metrics of this service that no pod scraping source registered: %w", service, err)
		}
		if existing.join(m) {
			m.serviceMetrics = existing
			return m, nil
		}
		// Its last source was closed meanwhile, and has unregistered it: register anew.
	}
	return nil, fmt.Errorf("register metrics of service %s: still contended after %d attempts, by sources of this service created and closed at once", service, maxRegisterAttempts)
}

// newServiceMetrics returns the collectors of service, not registered.
func newServiceMetrics(reg prometheus.Registerer, service string) *serviceMetrics {
	labels := prometheus.Labels{"service": service}
	m := &serviceMetrics{reg: reg, users: make(map[*metrics]struct{}, 1)}
	m.duration = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:        "podscrape_scrape_duration_seconds",
		Help:        "Duration of one pod's scrape, request and parse, whether it succeeded or failed; scrapes cut short by the caller's context are not observed.",
		ConstLabels: labels,
		Buckets:     prometheus.DefBuckets,
	})
	m.failures = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name:        "podscrape_scrape_failures_total",
		Help:        "Pod scrapes that failed, by reason (timeout, canceled, http_status, redirect, body_too_large, sample_limit, parse, content_type, tls, connect).",
		ConstLabels: labels,
	}, []string{"reason"})
	for _, r := range reasons {
		m.failures.WithLabelValues(r)
	}
	m.samples = prometheus.NewCounter(prometheus.CounterOpts{
		Name:        "podscrape_samples_scraped_total",
		Help:        "Sample lines read from the expositions of pods scraped successfully, kept or not.",
		ConstLabels: labels,
	})
	m.duplicates = prometheus.NewCounter(prometheus.CounterOpts{
		Name:        "podscrape_samples_duplicate_total",
		Help:        "Sample lines dropped from pods scraped successfully: their series repeated one earlier in the same exposition (the first is kept, as Prometheus keeps it), or their own timestamp is beyond what a millisecond timestamp holds (as Prometheus' storage refuses it).",
		ConstLabels: labels,
	})
	m.refused = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name:        "podscrape_history_samples_refused_total",
		Help:        "Samples the history of PromQL queries did not store, by reason (too_far_ahead: an own timestamp more than 10 minutes ahead of its scrape; out_of_order: an own timestamp before its series' newest sample or the retention; series_limit: a new series past HistorySeriesLimit).",
		ConstLabels: labels,
	}, []string{"reason"})
	for _, r := range []string{refusedTooFarAhead, refusedOutOfOrder, refusedSeriesLimit} {
		m.refused.WithLabelValues(r)
	}
	m.discovered = prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "podscrape_pods_discovered",
		Help:        "Pods the Service's selector matched at the last discovery, ready or not (a finished pod, Succeeded or Failed, is not counted); 0 when the last discovery failed (see podscrape_discovery_failures_total).",
		ConstLabels: labels,
	})
	m.ready = prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "podscrape_pods_ready",
		Help:        "Pods scraped at the last discovery: Ready, not terminating, with an IP; 0 when the last discovery failed (see podscrape_discovery_failures_total).",
		ConstLabels: labels,
	})
	m.discFailed = prometheus.NewCounter(prometheus.CounterOpts{
		Name:        "podscrape_discovery_failures_total",
		Help:        "Discoveries that failed: the Service not found or of type ExternalName, its read or its pods' list refused (RBAC) or unanswered; not those the caller's context ended. Each sets podscrape_pods_discovered and podscrape_pods_ready to 0.",
		ConstLabels: labels,
	})
	m.resets = prometheus.NewCounter(prometheus.CounterOpts{
		Name:        "podscrape_history_resets_total",
		Help:        "Times the history of PromQL queries started over: a refresh a second or more before the newest it held (the Clock stepped back); its windows are partial again from there, as after a start.",
		ConstLabels: labels,
	})
	m.cacheAge = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name:        "podscrape_cache_age_seconds",
		Help:        "Seconds since a successful refresh last stored results in the cache (before the first one, since the source was created); of several sources of the Service, the oldest of their caches.",
		ConstLabels: labels,
	}, m.age)
	return m
}

// collectors are m's collectors.
func (m *serviceMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.duration, m.failures, m.samples, m.duplicates, m.refused, m.discovered, m.ready, m.discFailed, m.cacheAge, m.resets}
}

// Describe describes every collector of m: it makes m a prometheus.Collector.
func (m *serviceMetrics) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range m.collectors() {
		c.Describe(ch)
	}
}

// Collect collects every collector of m: it makes m a prometheus.Collector.
func (m *serviceMetrics) Collect(ch chan<- prometheus.Metric) {
	for _, c := range m.collectors() {
		c.Collect(ch)
	}
}

// join adds the source handle u to the users of m, unless m is no longer registered.
func (m *serviceMetrics) join(u *metrics) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.users) == 0 {
		return false
	}
	m.users[u] = struct{}{}
	return true
}

// age is podscrape_cache_age_seconds, computed when collected: the oldest of the users'
// cache ages, 0, not negative, while the clock reads before their last stores (it was
// stepped back since).
func (m *serviceMetrics) age() float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	var oldest time.Duration
	for u := range m.users {
		oldest = max(oldest, u.clock.Since(time.Unix(0, u.storedAt.Load())))
	}
	return oldest.Seconds()
}

// unregister ends this source's use of its Service's metrics; the last source's
// unregisters them from the Registerer, so that the Service's series are gone from it.
// Only the first call does: a second (a source closed twice) would count it out twice.
func (m *metrics) unregister() {
	if m == nil || m.unregistered.Swap(true) {
		return
	}
	s := m.serviceMetrics
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.users, m)
	if len(s.users) == 0 {
		// Under mu: a source joining meanwhile waits, then registers anew.
		s.reg.Unregister(s)
	}
}

// off reports whether m records nothing: no Registerer, or its source was closed (its
// Service's metrics, shared with the Service's other sources, no longer count it).
func (m *metrics) off() bool {
	return m == nil || m.unregistered.Load()
}

// observePods records what discovery found: discovered pods selected, ready of them
// scraped.
func (m *metrics) observePods(discovered, ready int) {
	if m.off() {
		return
	}
	m.discovered.Set(float64(discovered))
	m.ready.Set(float64(ready))
}

// observeDiscoveryFailure records a failed discovery: no pod is discovered, none
// scraped.
func (m *metrics) observeDiscoveryFailure() {
	if m.off() {
		return
	}
	m.discFailed.Inc()
	m.discovered.Set(0)
	m.ready.Set(0)
}

// observeScrapes records one refresh's pod scrapes. A scrape the caller's context cut
// short counts as a failure with reason canceled, and its duration, which measures the
// caller rather than the pod, is not observed.
func (m *metrics) observeScrapes(pods []podScrape) {
	if m.off() {
		return
	}
	scraped, dropped := 0, 0
	for i := range pods {
		reason := ""
		if pods[i].err != nil {
			reason = ScrapeReason(pods[i].err)
			m.failures.WithLabelValues(reason).Inc()
		}
		if reason != ReasonCanceled {
			m.duration.Observe(pods[i].duration.Seconds())
		}
		if reason == "" { // the samples of pods scraped successfully (a failed one may have a count)
			scraped += pods[i].scraped
			dropped += pods[i].dropped
		}
	}
	m.samples.Add(float64(scraped))
	m.duplicates.Add(float64(dropped))
}

// observeRefused records what one append to the history refused.
func (m *metrics) observeRefused(st history.AppendStats) {
	if m.off() {
		return
	}
	m.refused.WithLabelValues(refusedTooFarAhead).Add(float64(st.Future))
	m.refused.WithLabelValues(refusedOutOfOrder).Add(float64(st.Rejected))
	m.refused.WithLabelValues(refusedSeriesLimit).Add(float64(st.Refused))
}

// observeReset records the history starting over.
func (m *metrics) observeReset() {
	if m.off() {
		return
	}
	m.resets.Inc()
}

// observeStored records that a refresh stored its results in the cache now.
func (m *metrics) observeStored() {
	if m.off() {
		return
	}
	m.storedAt.Store(m.clock.Now().UnixNano())
}
