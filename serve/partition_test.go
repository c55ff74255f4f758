package serve_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/client-go/rest"

	"github.com/podscrape/podscrape/internal/localcluster"
	"github.com/podscrape/podscrape/podscrapetest"
	"github.com/podscrape/podscrape/serve"
)

// TestDiscoveryCutOffFromTheAPIServerIsWarned: serve's informers reach the API server
// through a proxy that is cut (every connection closed, new ones refused: a network
// partition, the API server down) while the Service scales up behind serve's back (a new
// Ready pod, on a new IP, created through the API server directly). serve cannot know
// the pod set is current: its answers, /api/v1/targets and its /metrics say so, naming
// the Service, the error and since when. Before, it answered 200 from the pods it last
// saw, with no word: the new pod's load missing, an under-read KEDA scales on. Once the
// path is restored and the informers have listed again, the new pod is scraped and the
// warning is gone.
func TestDiscoveryCutOffFromTheAPIServerIsWarned(t *testing.T) {
	svc := newService(t, "partition", 1, "load 1\n")
	var logged lockedLog
	proxy, base := serveThroughProxy(t, logr.NewContext(t.Context(), logged.logger(0)), svc, &discoveryBounds{500 * time.Millisecond, time.Hour})

	cut := time.Now()
	proxy.Cut()
	if _, err := svc.AddPod(t.Context(), "partition-new"); err != nil {
		t.Fatal(err)
	}
	r := waitFor(t, base, "sum(load)", "1", true)
	w := strings.Join(r.Warnings, "\n")
	// The error is the connection lost, or the new one refused.
	if !strings.Contains(w, "service "+svc.Namespace+"/"+svc.Name+": discovery failing since ") ||
		!strings.Contains(w, "pods added since are missing") ||
		(!strings.Contains(w, "connection lost") && !strings.Contains(w, proxy.Addr())) {
		t.Errorf("warnings %q: want one naming the Service, its discovery failing since when, and the error", r.Warnings)
	}
	code, tr := call(t, http.MethodGet, base, "/api/v1/targets", nil)
	if code != http.StatusOK || !strings.Contains(strings.Join(tr.Warnings, "\n"), "discovery") {
		t.Errorf("/api/v1/targets while cut: %d, warnings %q: want 200 with the discovery warning", code, tr.Warnings)
	}
	// Warned: failing for at least the bound (500 ms), and at most since the cut, in
	// seconds (an alert on it past 30 s fires at 30 s).
	if got := metricValue(t, base, `podscrape_serve_discovery_failing_seconds{service="`+svc.Namespace+"/"+svc.Name+`"}`); got < 0.5 || got > time.Since(cut).Seconds() {
		t.Errorf("podscrape_serve_discovery_failing_seconds while cut, warned: %v, want the seconds since the failure, between 0.5 and %.3f", got, time.Since(cut).Seconds())
	}
	// Ready still: serve answers, and says why (docs/serve.md, What serve watches).
	if resp, err := http.Get(base + "/-/ready"); err != nil {
		t.Fatal(err)
	} else {
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("/-/ready while cut: %d, want 200", resp.StatusCode)
		}
	}

	if err := proxy.Restore(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, base, "sum(load)", "2", false)
	if l := logged.String(); !strings.Contains(l, "discovery failing") || !strings.Contains(l, "discovery recovered") || !strings.Contains(l, svc.Namespace) {
		t.Errorf("log:\n%s\nwant the namespace %s's discovery failing, then recovered", l, svc.Namespace)
	}
	if got := metricValue(t, base, `podscrape_serve_discovery_failing_seconds{service="`+svc.Namespace+"/"+svc.Name+`"}`); got != 0 {
		t.Errorf("podscrape_serve_discovery_failing_seconds once restored: %v, want 0", got)
	}
}

// TestDiscoveryOverASilentPathIsWarned: the path to the API server drops everything
// (no reset, no refusal: the connections open and new ones go silent), the most common
// partition. The informers' watch, idle, is found dead by client-go's HTTP/2 health
// check (here shortened to a second of idleness and a second for the ping), and from
// then the answers are warned, as when the path is cut; once it forwards again, the
// pod added meanwhile is scraped and the warning goes.
func TestDiscoveryOverASilentPathIsWarned(t *testing.T) {
	t.Setenv("HTTP2_READ_IDLE_TIMEOUT_SECONDS", "1")
	t.Setenv("HTTP2_PING_TIMEOUT_SECONDS", "1")
	svc := newService(t, "partitionsilent", 1, "load 1\n")
	proxy, base := serveThroughProxy(t, t.Context(), svc, &discoveryBounds{500 * time.Millisecond, time.Hour})

	proxy.Silence()
	if _, err := svc.AddPod(t.Context(), "partitionsilent-new"); err != nil {
		t.Fatal(err)
	}
	r := waitFor(t, base, "sum(load)", "1", true)
	if w := strings.Join(r.Warnings, "\n"); !strings.Contains(w, "service "+svc.Namespace+"/"+svc.Name+": discovery failing since ") {
		t.Errorf("warnings %q: want one naming the Service's discovery failing", r.Warnings)
	}
	if err := proxy.Restore(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, base, "sum(load)", "2", false)
}

// serveThroughProxy runs a Server of svc (MaxAge 1ns: each query scrapes) reading
// StartCache's informers (started with ctx, its logger), which reach the API server
// through a CuttingProxy, until the test ends, with the discovery bounds given (nil:
// DiscoveryWarnAfter and DiscoveryUnavailableAfter); it returns the proxy and the
// Server's URL once it answers svc's one pod.
func serveThroughProxy(t *testing.T, ctx context.Context, svc *podscrapetest.Service, bounds *discoveryBounds) (*localcluster.CuttingProxy, string) {
	t.Helper()
	return serveThroughProxyAs(t, ctx, svc, "", bounds)
}

// discoveryBounds are a test's DiscoveryWarnAfter and DiscoveryUnavailableAfter.
type discoveryBounds struct{ warn, unavailable time.Duration }

// serveThroughProxyAs is serveThroughProxy with the informers acting as user (the test's
// own credentials impersonating it), or as the test's credentials when user is "".
func serveThroughProxyAs(t *testing.T, ctx context.Context, svc *podscrapetest.Service, user string, bounds *discoveryBounds) (*localcluster.CuttingProxy, string) {
	t.Helper()
	api, err := url.Parse(env.Config.Host)
	if err != nil {
		t.Fatal(err)
	}
	proxy, err := localcluster.StartCuttingProxy("127.0.0.1", api.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proxy.Close)
	viaProxy := rest.CopyConfig(env.Config)
	viaProxy.Host = "https://" + proxy.Addr()
	// A transport of its own, not client-go's cached one of the same TLS settings: made
	// now, it reads the test's HTTP/2 health check settings.
	viaProxy.Dial = (&net.Dialer{}).DialContext
	viaProxy.Impersonate = rest.ImpersonationConfig{UserName: user}
	services := []serve.ServiceConfig{serviceConfig(svc)}
	c, err := serve.StartCache(ctx, viaProxy, services)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	if bounds != nil {
		serve.SetDiscoveryBounds(c, bounds.warn, bounds.unavailable)
	}
	_, base := runServerWith(t, t.Context(), c, serve.Config{Services: services, MaxAge: time.Nanosecond, Interval: time.Hour})
	waitFor(t, base, "sum(load)", "1", false)
	return proxy, base
}

// waitFor asks expr until it answers 200 with the one value want and, when warned,
// with a warning of discovery, else with none; it fails the test after 60 s, with the
// last answer.
func waitFor(t *testing.T, base, expr, want string, warned bool) apiResponse {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		code, r := query(t, base, expr)
		ok := code == http.StatusOK
		if ok {
			v := vector(t, r)
			ok = len(v) == 1 && v[0].Value[1] == want && strings.Contains(strings.Join(r.Warnings, "\n"), "discovery") == warned
		}
		if ok {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d %s, warnings %q: want %s, warned of discovery: %v", expr, code, r.Data, r.Warnings, want, warned)
		}
		time.Sleep(50 * time.Millisecond) // polling the answer until the informers catch up
	}
}

// metricValue returns the value of the series named by line's start in serve's /metrics,
// or -1 when it is not there.
func metricValue(t *testing.T, base, series string) float64 {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(body)) {
		if rest, ok := strings.CutPrefix(line, series+" "); ok {
			var v float64
			if err := json.Unmarshal([]byte(strings.TrimSpace(rest)), &v); err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			return v
		}
	}
	return -1
}

// TestDiscoveryFailingLongIsUnavailable: past DiscoveryUnavailableAfter of its informers
// cut off from the API server, a query reading the Service is 503 naming it and since
// when (the pods it scrapes may be any number of scale-ups behind), and /api/v1/targets
// still lists its pods, with the words; once restored, it answers again.
func TestDiscoveryFailingLongIsUnavailable(t *testing.T) {
	svc := newService(t, "partitionlong", 1, "load 1\n")
	var logged lockedLog
	proxy, base := serveThroughProxy(t, logr.NewContext(t.Context(), logged.logger(0)), svc, &discoveryBounds{0, 300 * time.Millisecond})

	proxy.Cut()
	deadline := time.Now().Add(60 * time.Second)
	for {
		// Failing for the bound when the gauge is read: the query after it is 503.
		failing := metricValue(t, base, `podscrape_serve_discovery_failing_seconds{service="`+svc.Namespace+"/"+svc.Name+`"}`)
		code, r := query(t, base, "sum(load)")
		if failing >= 0.3 && code != http.StatusServiceUnavailable {
			t.Fatalf("sum(load) failing for %vs, past the bound of 300ms: %d, warnings %q, want 503", failing, code, r.Warnings)
		}
		if code == http.StatusServiceUnavailable {
			if r.ErrorType != "unavailable" || !strings.Contains(r.Error, "service "+svc.Namespace+"/"+svc.Name+": discovery failing since ") {
				t.Errorf("503 %s: %q, want unavailable naming the Service's discovery failing", r.ErrorType, r.Error)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sum(load) cut off: %d %s, warnings %q: want 503 past the bound", code, r.Data, r.Warnings)
		}
		time.Sleep(50 * time.Millisecond) // polling until the bound has passed
	}
	code, tr := call(t, http.MethodGet, base, "/api/v1/targets", nil)
	if code != http.StatusOK || !strings.Contains(string(tr.Data), svc.Pods()[0].IP) || !strings.Contains(strings.Join(tr.Warnings, "\n"), "discovery failing") {
		t.Errorf("/api/v1/targets cut off: %d %s, warnings %q: want the pod, and the discovery's words", code, tr.Data, tr.Warnings)
	}

	if err := proxy.Restore(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, base, "sum(load)", "1", false)
}

// TestBriefDiscoveryFailureIsNotWarned: a failure shorter than DiscoveryWarnAfter (a
// watch reconnecting through an API server's rolling restart) shows in
// podscrape_serve_discovery_failing_seconds but not in the answers, and the gauge is 0
// again once the informers reach the API server.
func TestBriefDiscoveryFailureIsNotWarned(t *testing.T) {
	svc := newService(t, "partitionbrief", 1, "load 1\n")
	proxy, base := serveThroughProxy(t, t.Context(), svc, nil)
	series := `podscrape_serve_discovery_failing_seconds{service="` + svc.Namespace + "/" + svc.Name + `"}`
	if got := metricValue(t, base, series); got != 0 {
		t.Fatalf("%s before the cut: %v, want 0", series, got)
	}

	proxy.Cut()
	deadline := time.Now().Add(30 * time.Second)
	for metricValue(t, base, series) <= 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%s still 0 30s after the cut", series)
		}
		time.Sleep(20 * time.Millisecond) // polling until the informers' failure is seen
	}
	if code, r := query(t, base, "sum(load)"); code != http.StatusOK || len(r.Warnings) != 0 {
		t.Errorf("sum(load) cut off for less than %s: %d, warnings %q: want 200 and none", serve.DiscoveryWarnAfter, code, r.Warnings)
	}
	if err := proxy.Restore(); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(60 * time.Second)
	for metricValue(t, base, series) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%s not 0 60s after the restore", series)
		}
		time.Sleep(20 * time.Millisecond) // polling until the informers reach the API server again
	}
}
