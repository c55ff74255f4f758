package serve_test

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/podscrape/podscrape/podscrapetest"
	"github.com/podscrape/podscrape/serve"
)

// counterValue is the value of counter name{service=service} in reg, and whether reg
// exports it.
func counterValue(t *testing.T, reg prometheus.Gatherer, name, service string) (float64, bool) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "service" && l.GetValue() == service {
					return m.GetCounter().GetValue(), true
				}
			}
		}
	}
	return 0, false
}

// A Service's podscrape_serve_scrapes_unavailable_total is exported at 0 before its first
// outage, so that increase(...[5m]) > 0 sees that outage (a series born at 1 has no
// baseline), and counts it.
func TestUnavailableCounterStartsAtZero(t *testing.T) {
	svc := newService(t, "vllm", 1, waiting)
	reg := prometheus.NewRegistry()
	base := startServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}, Registerer: reg, MaxAge: time.Nanosecond})
	key := svc.Namespace + "/" + svc.Name
	const name = "podscrape_serve_scrapes_unavailable_total"
	if v, ok := counterValue(t, reg, name, key); !ok || v != 0 {
		t.Errorf("before any outage: %s{service=%q} = %v (exported: %v), want 0, exported", name, key, v, ok)
	}
	svc.Pods()[0].SetHandler(failing)
	if code, r := query(t, base, "sum(vllm:num_requests_waiting)"); code != http.StatusServiceUnavailable {
		t.Fatalf("every pod failing: got %d %q, want 503", code, r.Error)
	}
	if v, _ := counterValue(t, reg, name, key); v != 1 {
		t.Errorf("after one outage: %s{service=%q} = %v, want 1", name, key, v)
	}
}

// TestServeDocListsItsMetrics holds docs/serve.md's list of what /metrics exports to the
// families serve registers: every podscrape_* family is named there, with each label
// but service inside its braces, so an operator's alert is written against names and
// labels that exist.
func TestServeDocListsItsMetrics(t *testing.T) {
	svc := newService(t, "vllm", 1, waiting)
	reg := prometheus.NewRegistry()
	base := startServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}, Registerer: reg, MaxAge: time.Nanosecond})
	if code, r := query(t, base, "sum(vllm:num_requests_waiting)"); code != http.StatusOK {
		t.Fatalf("query: got %d %q, want 200", code, r.Error)
	}
	doc, err := os.ReadFile("../docs/serve.md")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Join(strings.Fields(string(doc)), " ")
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var serves int
	for _, mf := range mfs {
		name := mf.GetName()
		if !strings.HasPrefix(name, "podscrape_") {
			t.Errorf("/metrics exports %s: docs/serve.md says it exports podscrape_* families only", name)
			continue
		}
		if strings.HasPrefix(name, "podscrape_serve_") {
			serves++
		}
		if !strings.Contains(text, "`"+name) {
			t.Errorf("docs/serve.md does not name %s, which /metrics exports", name)
			continue
		}
		labels := map[string]bool{}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() != "service" {
					labels[l.GetName()] = true
				}
			}
		}
		for l := range labels {
			if !regexp.MustCompile("`" + regexp.QuoteMeta(name) + `\{[^}` + "`" + `]*\b` + regexp.QuoteMeta(l) + `\b`).MatchString(text) {
				t.Errorf("docs/serve.md names %s without its label %s", name, l)
			}
		}
	}
	if serves < 11 {
		t.Errorf("/metrics exports %d podscrape_serve_* families, want the 11 docs/serve.md lists", serves)
	}
}

// refusedValue is podscrape_serve_history_samples_refused_total{service,reason} in reg,
// and whether reg exports it.
func refusedValue(t *testing.T, reg prometheus.Gatherer, service, reason string) (float64, bool) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "podscrape_serve_history_samples_refused_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			got := map[string]string{}
			for _, l := range m.GetLabel() {
				got[l.GetName()] = l.GetValue()
			}
			if got["service"] == service && got["reason"] == reason {
				return m.GetCounter().GetValue(), true
			}
		}
	}
	return 0, false
}

// TestHistoryRefusalsAreCounted: what a Service's history refuses shows in
// podscrape_serve_history_samples_refused_total{service,reason}, exported from zero for
// every reason. Before, serve's histories counted nowhere (the sources'
// podscrape_history_samples_refused_total counts the library's history, which serve
// does not keep, and stayed 0): a series limit refusing a new pod's series was a
// warning on the queries alone. A Service of 3 series (and the scrape's synthetic ones)
// under a series limit of 2 counts each sample past the limit as series_limit; a sample
// an hour ahead of its scrape counts as too_far_ahead.
func TestHistoryRefusalsAreCounted(t *testing.T) {
	const body = "a 1\nb 1\nc 1\n"
	free := newService(t, "free", 1, body)
	limited := newService(t, "limited", 1, body)
	ahead := newService(t, "ahead", 1, fmt.Sprintf("y 1 %d\n", time.Now().Add(time.Hour).UnixMilli()))
	limitedCfg := serviceConfig(limited)
	limitedCfg.SeriesLimit = 2
	reg := prometheus.NewRegistry()
	_, base := runReadyServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(free), limitedCfg, serviceConfig(ahead)},
		Registerer: reg, Interval: 4 * time.Minute})
	// One scrape of each (the first; a 4-minute interval and no MaxAge scrape no more): the
	// free Service's series are those the limited one exposes.
	_, r := query(t, base, fmt.Sprintf(`count({job=%q})`, free.Name))
	v := vector(t, r)
	if len(v) != 1 {
		t.Fatalf("count of %s's series: %s", free.Name, r.Data)
	}
	series, err := strconv.Atoi(v[0].Value[1].(string))
	if err != nil || series <= 3 {
		t.Fatalf("count of %s's series: %v (%v), want the 3 exposed and the synthetic ones", free.Name, v[0].Value[1], err)
	}
	want := map[string]map[string]float64{
		free.Namespace + "/" + free.Name:       {"series_limit": 0, "too_far_ahead": 0, "out_of_order": 0},
		limited.Namespace + "/" + limited.Name: {"series_limit": float64(series - 2), "too_far_ahead": 0, "out_of_order": 0},
		ahead.Namespace + "/" + ahead.Name:     {"series_limit": 0, "too_far_ahead": 1, "out_of_order": 0},
	}
	for service, reasons := range want {
		for reason, n := range reasons {
			if got, ok := refusedValue(t, reg, service, reason); !ok || got != n {
				t.Errorf("podscrape_serve_history_samples_refused_total{service=%q,reason=%q} = %v (exported: %v), want %v", service, reason, got, ok, n)
			}
		}
	}
}

// TestQueryTimeoutIsCounted: a query that finds no evaluation slot free within its
// timeout counts in podscrape_serve_queries_total{endpoint="query",error_type="timeout"},
// a series exported at 0 from the start (as every endpoint's every error type), so that
// increase(...) > 0 sees the first timeout.
func TestQueryTimeoutIsCounted(t *testing.T) {
	svc := newService(t, "vllm", 1, waiting)
	srv, base := runReadyServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}, Interval: 4 * time.Minute})
	const series = `podscrape_serve_queries_total{endpoint="query",error_type="timeout"}`
	if got := metricValue(t, base, series); got != 0 {
		t.Errorf("%s before any query: %v (-1: not exported), want 0", series, got)
	}
	holdEverySlot(t, srv, base, 0)
	if code, r := call(t, http.MethodGet, base, "/api/v1/query", url.Values{"query": {"vllm:num_requests_waiting"}, "timeout": {"200ms"}}); code != http.StatusServiceUnavailable || r.ErrorType != "timeout" {
		t.Fatalf("a query with every slot held: %d %s %q, want 503 timeout", code, r.ErrorType, r.Error)
	}
	if got := metricValue(t, base, series); got != 1 {
		t.Errorf("%s after one query timed out: %v, want 1", series, got)
	}
}

// TestEveryQueryAnswerTypeIsExportedFromZero: before any query, podscrape_serve_queries_total
// holds every endpoint's every answer type at 0, success ("") and each error type
// Prometheus' API answers, so that increase(...) > 0 sees the first of each: the docs'
// PodscrapeQueriesFailing alerts on internal too, whose series born at its first 500
// would have no baseline and miss it.
func TestEveryQueryAnswerTypeIsExportedFromZero(t *testing.T) {
	svc := newService(t, "vllm", 1, waiting)
	_, base := runReadyServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}, Interval: 4 * time.Minute})
	for _, endpoint := range []string{"query", "query_range"} {
		for _, typ := range []string{"", "bad_data", "execution", "canceled", "timeout", "internal", "unavailable"} {
			series := fmt.Sprintf(`podscrape_serve_queries_total{endpoint=%q,error_type=%q}`, endpoint, typ)
			if got := metricValue(t, base, series); got != 0 {
				t.Errorf("%s before any query: %v (-1: not exported), want 0", series, got)
			}
		}
	}
}

// TestHistorySeriesGaugesAreEachServices: podscrape_serve_history_series{service} is the
// series each Service's history holds, and podscrape_serve_history_series_limit{service}
// its own series limit, whatever it holds: two Services of different limits and series
// each read theirs, so that the docs' PodscrapeHistoryNearlyFull (their ratio over 0.9)
// fires for the Service filling up, and for no other.
func TestHistorySeriesGaugesAreEachServices(t *testing.T) {
	few := newService(t, "few", 1, "a 1\n")
	many := newService(t, "many", 1, "a 1\nb 1\nc 1\n")
	fewCfg, manyCfg := serviceConfig(few), serviceConfig(many)
	fewCfg.SeriesLimit, manyCfg.SeriesLimit = 50, 100
	// One scrape of each (the first; a 4-minute interval and no MaxAge scrape no more).
	_, base := runReadyServer(t, serve.Config{Services: []serve.ServiceConfig{fewCfg, manyCfg}, Interval: 4 * time.Minute})
	for _, tc := range []struct {
		svc   *podscrapetest.Service
		limit float64
	}{{few, 50}, {many, 100}} {
		_, r := query(t, base, fmt.Sprintf(`count({job=%q})`, tc.svc.Name))
		v := vector(t, r)
		if len(v) != 1 {
			t.Fatalf("count of %s's series: %s", tc.svc.Name, r.Data)
		}
		held, err := strconv.ParseFloat(v[0].Value[1].(string), 64)
		if err != nil {
			t.Fatal(err)
		}
		key := tc.svc.Namespace + "/" + tc.svc.Name
		if got := metricValue(t, base, `podscrape_serve_history_series{service="`+key+`"}`); got != held {
			t.Errorf("podscrape_serve_history_series of %s: %v (-1: not exported), want the %v series its history holds", key, got, held)
		}
		if got := metricValue(t, base, `podscrape_serve_history_series_limit{service="`+key+`"}`); got != tc.limit {
			t.Errorf("podscrape_serve_history_series_limit of %s: %v (-1: not exported), want its seriesLimit %v", key, got, tc.limit)
		}
	}
}

// TestMetricsPassAPedanticRegistry: serve's collectors describe every metric they
// collect, consistently, as a pedantic registry checks: on one, Gather fails on a metric
// its collector did not describe, and an undescribed metric is one Register cannot find
// in conflict with another collector's, nor Unregister take back.
func TestMetricsPassAPedanticRegistry(t *testing.T) {
	one, two := newService(t, "one", 1, waiting), newService(t, "two", 1, waiting)
	reg := prometheus.NewPedanticRegistry()
	_, base := runReadyServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(one), serviceConfig(two)}, Registerer: reg, Interval: 4 * time.Minute})
	if code, r := query(t, base, "sum(vllm:num_requests_waiting)"); code != http.StatusOK {
		t.Fatalf("query: %d %q, want 200", code, r.Error)
	}
	if _, err := reg.Gather(); err != nil {
		t.Errorf("Gather on a pedantic registry: %v", err)
	}
}
