package serve

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
)

// DiscoveryWarnAfter is how long the informers of a Service's namespace may fail to
// reach the API server before its answers carry a warning: longer than a watch's
// reconnection (an API server's rolling restart), shorter than a scale-up's pods
// becoming Ready.
const DiscoveryWarnAfter = 30 * time.Second

// DiscoveryUnavailableAfter is how long the informers of a Service's namespace may fail
// to reach the API server before a query reading it is 503: by then the pod set serve
// scrapes may be any number of scale-ups behind (their pods' load missing), and an
// autoscaler acting on the answer would act on an under-read.
const DiscoveryUnavailableAfter = 5 * time.Minute

// discoveryFailure is why and since when the informers of a namespace cannot reach the
// API server.
type discoveryFailure struct {
	since time.Time
	err   error
}

// informerHealth tracks the requests StartCache's informers make to the API server, by
// namespace and resource (pods, services): a resource fails from the first of its
// requests that failed (a LIST or WATCH refused, unanswered or answered with an error
// status, a WATCH whose connection was lost) until its next request is answered 200, and
// a namespace's discovery fails while one of its resources does, since the earliest. It
// reads the informers' own requests: it makes none.
type informerHealth struct {
	mu      sync.Mutex
	failing map[string]map[string]discoveryFailure // namespace, resource
	// anyFailing is how many resources of failing fail: while none does, as nearly
	// always, a query reads it alone.
	anyFailing atomic.Int32
	// log logs each resource's failing and recovering (StartCache's context's logger).
	log logr.Logger
	// The bounds of a Service's discovery failing (see discoveryState):
	// DiscoveryWarnAfter and DiscoveryUnavailableAfter, shorter in tests. Set before
	// the Cache is read.
	warnAfter, unavailableAfter time.Duration
}

// failure returns the failure of namespace's discovery: the earliest since of its
// failing resources and that one's error; ok false when none fails.
func (h *informerHealth) failure(namespace string) (f discoveryFailure, ok bool) {
	if h.anyFailing.Load() == 0 {
		return f, false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, rf := range h.failing[namespace] {
		if !ok || rf.since.Before(f.since) {
			f, ok = rf, true
		}
	}
	return f, ok
}

func (h *informerHealth) fail(namespace, resource string, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.failing == nil {
		h.failing = map[string]map[string]discoveryFailure{}
	}
	if h.failing[namespace] == nil {
		h.failing[namespace] = map[string]discoveryFailure{}
	}
	f, ok := h.failing[namespace][resource]
	if !ok {
		f.since = time.Now()
		h.anyFailing.Add(1)
		h.log.Info("discovery failing: the informers cannot reach the API server, queries are answered from the pods they last gave",
			"namespace", namespace, "resource", resource, "error", err.Error())
	}
	f.err = err
	h.failing[namespace][resource] = f
}

func (h *informerHealth) ok(namespace, resource string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if f, ok := h.failing[namespace][resource]; ok {
		delete(h.failing[namespace], resource)
		h.anyFailing.Add(-1)
		h.log.Info("discovery recovered: the informers reach the API server again",
			"namespace", namespace, "resource", resource, "failedFor", time.Since(f.since).Round(time.Millisecond).String())
	}
}

// wrap is a rest.Config's WrapTransport: rt, noting the outcome of each request for the
// pods or services of a namespace.
func (h *informerHealth) wrap(rt http.RoundTripper) http.RoundTripper {
	return &healthTransport{next: rt, h: h}
}

type healthTransport struct {
	next http.RoundTripper
	h    *informerHealth
}

func (t *healthTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ns, resource, ok := namespacedResource(req.URL.Path)
	if !ok {
		return t.next.RoundTrip(req)
	}
	verb := "list"
	if req.URL.Query().Get("watch") == "true" || req.URL.Query().Get("watch") == "1" {
		verb = "watch"
	}
	resp, err := t.next.RoundTrip(req)
	switch {
	case err != nil:
		if req.Context().Err() == nil { // not the informers stopping
			t.h.fail(ns, resource, fmt.Errorf("%s %s: %w", verb, resource, err))
		}
	case resp.StatusCode >= 400 && resp.StatusCode != http.StatusGone: // 410: relist, no failure
		t.h.fail(ns, resource, fmt.Errorf("%s %s: the API server answered %s", verb, resource, resp.Status))
	default:
		t.h.ok(ns, resource)
		if verb == "watch" {
			resp.Body = &watchBody{ReadCloser: resp.Body, req: req, h: t.h, ns: ns, resource: resource}
		}
	}
	return resp, err
}

// watchBody is a WATCH's response body: an error reading it (the connection lost, the
// API server unreachable) fails the namespace's discovery until the next request
// succeeds. Its end (the watch's timeout) or its Close (the informer stopped it) does not.
type watchBody struct {
	io.ReadCloser
	req          *http.Request
	h            *informerHealth
	ns, resource string
	closed       atomic.Bool
}

func (b *watchBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && !errors.Is(err, io.EOF) && !b.closed.Load() && b.req.Context().Err() == nil {
		b.h.fail(b.ns, b.resource, fmt.Errorf("watch %s: connection lost: %w", b.resource, err))
	}
	return n, err
}

func (b *watchBody) Close() error {
	b.closed.Store(true)
	return b.ReadCloser.Close()
}

// namespacedResource returns the namespace and resource (pods or services) of a core API
// path, /api/v1/namespaces/NS/pods or /services; ok false for any other.
func namespacedResource(path string) (ns, resource string, ok bool) {
	rest, found := strings.CutPrefix(path, "/api/v1/namespaces/")
	if !found {
		return "", "", false
	}
	ns, resource, found = strings.Cut(rest, "/")
	if !found || (resource != "pods" && resource != "services") {
		return "", "", false
	}
	return ns, resource, true
}

// discoveryStale returns how long svc's discovery has been failing and the failure, when
// its reader is StartCache's Cache and it fails; ok false otherwise (without reading the
// clock).
func (svc *service) discoveryStale() (f discoveryFailure, d time.Duration, ok bool) {
	if svc.health == nil {
		return f, 0, false
	}
	if f, ok = svc.health.failure(svc.cfg.Source.ServiceNamespace); !ok {
		return f, 0, false
	}
	return f, time.Since(f.since), true
}

// discoveryState returns, for a query reading svc, the warning of its discovery failing
// past its health's warnAfter (then its answers and /api/v1/targets carry a warning
// naming the Service, the error and since when), or, past unavailableAfter, why it is
// unavailable (a query reading it is 503).
func (svc *service) discoveryState() (warning, down string) {
	f, d, ok := svc.discoveryStale()
	if !ok || d < svc.health.warnAfter {
		return "", ""
	}
	// Since when, not for how long: the words are the same in each check of one query
	// (a query checks again the scrapes landed during its evaluation), and counted once.
	failing := fmt.Sprintf("service %s: discovery failing since %s", svc.key, f.since.UTC().Format(warningTime))
	if limit := svc.health.unavailableAfter; d >= limit {
		return "", fmt.Sprintf("%s (over %s): the pods the API server last gave may no longer be the Service's: %v", failing, limit, f.err)
	}
	return fmt.Sprintf("%s: the pods answered from are those the API server last gave; pods added since are missing: %v", failing, f.err), ""
}

// discoveryCollector exports podscrape_serve_discovery_failing_seconds: per Service, how
// long its discovery has been failing, 0 while it is current.
type discoveryCollector struct {
	desc     *prometheus.Desc
	services []*service
}

func newDiscoveryCollector(services []*service) *discoveryCollector {
	return &discoveryCollector{
		desc: prometheus.NewDesc("podscrape_serve_discovery_failing_seconds",
			"How long the informers of a Service's namespace have been failing to list or watch its pods or Services at the API server (serve answers from the pods they last gave), by Service; 0 while they are current.",
			[]string{"service"}, nil),
		services: services,
	}
}

func (c *discoveryCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *discoveryCollector) Collect(ch chan<- prometheus.Metric) {
	for _, svc := range c.services {
		_, d, _ := svc.discoveryStale()
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, d.Seconds(), svc.key)
	}
}
