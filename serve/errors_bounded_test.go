package serve_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/podscrape/podscrape/podscrapetest"
	"github.com/podscrape/podscrape/serve"
)

// TestErrorsNameAtMostTenServices: the 503 of a query reading Services with no data, and
// the 422 of its partial windows, name the first 10 Services (or windows of Services) and
// count the others, as warnings are bounded (TestWarningsAreBounded), their first part
// (what an autoscaler reads) kept. Before, the error named every Service down, or every
// window of every Service short of history: with hundreds of Services (a --config of
// many, a cluster-wide outage) one error of hundreds of KB, logged whole by KEDA and
// prometheus-adapter at every poll.
func TestErrorsNameAtMostTenServices(t *testing.T) {
	const counter = "# TYPE reqs counter\nreqs_total 10\n"
	var svcs []*podscrapetest.Service
	var services []serve.ServiceConfig
	for i := range 13 {
		svc := newService(t, fmt.Sprintf("vllm-%d", i), 1, waiting+counter)
		svcs = append(svcs, svc)
		services = append(services, serviceConfig(svc))
	}
	// namedServices counts the Services the error names.
	namedServices := func(msg string) int {
		n := 0
		for _, svc := range svcs {
			if strings.Contains(msg, "service "+svc.Namespace+"/"+svc.Name+":") || strings.Contains(msg, "service "+svc.Namespace+"/"+svc.Name+" ") {
				n++
			}
		}
		return n
	}
	check := func(what string, code int, r apiResponse, wantCode int, wantType, prefix, suffix string) {
		t.Helper()
		if code != wantCode || r.ErrorType != wantType || !strings.HasPrefix(r.Error, prefix) || !strings.HasSuffix(r.Error, suffix) {
			t.Errorf("%s: got %d %q %q, want %d %s starting %q, ending %q", what, code, r.ErrorType, r.Error, wantCode, wantType, prefix, suffix)
		}
		if n := namedServices(r.Error); n != 10 {
			t.Errorf("%s: the error names %d of the 13 Services, want 10", what, n)
		}
		if n := len(r.Error); n > 8192 {
			t.Errorf("%s: an error of %d bytes, want it bounded", what, n)
		}
	}

	// A Service's interval of a minute: the 10m windows reach before the one scrape held
	// (only the scrape at the start is taken during the test).
	cfg := serve.Config{Services: services, Interval: time.Minute}
	base := startServer(t, cfg)
	code, r := query(t, base, "sum(increase(reqs_total[10m]))")
	check("increase over 10m, 13 Services of one scrape", code, r, http.StatusUnprocessableEntity, "execution",
		"partial window: increase(reqs_total[10m]) reads back 10m from ", "; and 3 more such windows")
	// The same window twice is named once a Service.
	code, r = query(t, base, "sum(rate(reqs_total[10m])) + sum(rate(reqs_total[10m])) or vector(0)")
	check("rate over 10m twice, or vector(0), 13 Services of one scrape", code, r, http.StatusUnprocessableEntity, "execution",
		"partial window: rate(reqs_total[10m]) reads back 10m from ", "; and 3 more such windows")
	// A second scrape (MaxAge: each query scrapes): the rate estimates over the span
	// held, and an empty answer from those estimates is refused.
	cfg.MaxAge = time.Nanosecond
	base = startServer(t, cfg)
	if code, r := query(t, base, "sum(reqs_total)"); code != http.StatusOK {
		t.Fatalf("sum(reqs_total): got %d %q, want 200", code, r.Error)
	}
	code, r = query(t, base, "sum(rate(reqs_total[10m])) > 1e12")
	check("an empty answer of rates over 10m, 13 Services of two scrapes", code, r, http.StatusUnprocessableEntity, "execution",
		"partial window: rate(reqs_total[10m]) reads back 10m from ", "; and 3 more such windows: too little history to estimate from, no value")

	// Every pod failing: 13 Services with no data to answer from.
	for _, svc := range svcs {
		svc.Pods()[0].SetHandler(failing)
	}
	code, r = query(t, base, "sum(vllm:num_requests_waiting)")
	check("13 Services down", code, r, http.StatusServiceUnavailable, "unavailable", "no data to answer from: service ", "; and 3 more services")
	// 11 down: "1 more service", not "1 more services".
	for _, svc := range svcs[:2] {
		svc.Pods()[0].SetBody(waiting + counter)
	}
	code, r = query(t, base, "sum(vllm:num_requests_waiting)")
	check("11 Services down", code, r, http.StatusServiceUnavailable, "unavailable", "no data to answer from: service ", "; and 1 more service")

	// The pods answering again, a query at a time that reads the scrape in which the 11
	// had failed: as bounded.
	at := failedScrapeTime(t, base, svcs[12].Pods()[0].Name)
	for _, svc := range svcs {
		svc.Pods()[0].SetBody(waiting + counter)
	}
	code, r = call(t, http.MethodGet, base, "/api/v1/query", url.Values{"query": {"sum(vllm:num_requests_waiting)"},
		"time": {fmt.Sprintf("%.3f", float64(at.UnixMilli())/1000)}})
	check("11 Services down at the query's time", code, r, http.StatusServiceUnavailable, "unavailable", "no data to answer from at ", "; and 1 more service")
}
