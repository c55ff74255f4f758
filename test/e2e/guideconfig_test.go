package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	"github.com/podscrape/podscrape/source"
	"github.com/podscrape/podscrape/source/pod"
)

// The guide's defaults, as the pods and the caller see them, for a source built with the
// required fields only (the guide's "Minimal Configuration"): MetricsPath "/metrics" and
// MetricsScheme "http" are what the pods are asked for, no auth header is sent, at most
// MaxConcurrentScrapes 10 pods are scraped at once, and Get serves a result for
// DefaultTTL 30s. Each is read where it acts, not from the config.
func TestGuideDefaultsAsThePodsAndTheCallerSeeThem(t *testing.T) {
	t.Parallel()
	const pods, wantCap = 12, 10
	in := newInflight(wantCap + 1)
	in.hold = 200 * time.Millisecond
	recs := make([]*recorder, pods)
	defs := make([]podDef, pods)
	for i := range defs {
		held := in.handler([]byte("m 1\n"))
		rec := &recorder{}
		recs[i] = rec
		defs[i] = podDef{name: fmt.Sprintf("pod-%02d", i), handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rec.mu.Lock()
			rec.requests = append(rec.requests, r.Clone(context.Background()))
			rec.mu.Unlock()
			held.ServeHTTP(w, r)
		})}
	}
	f := startService(t, defs...)
	clk := clocktesting.NewFakePassiveClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	cfg := pod.PodScrapingSourceConfig{ServiceName: f.svc, ServiceNamespace: f.ns, MetricsPort: f.port, Clock: clk}
	s := newSource(t, cfg)
	r := mustRefresh(t, s)
	if r.Error != nil {
		t.Fatal(r.Error)
	}

	for i, rec := range recs {
		seen := rec.seen()
		if len(seen) != 1 {
			t.Fatalf("%s: got %d requests, want 1", defs[i].name, len(seen))
		}
		req := seen[0]
		if req.Method != http.MethodGet || req.URL.Path != "/metrics" || req.URL.RawQuery != "" || req.TLS != nil {
			t.Errorf("%s: got %s %s (TLS %v), want GET /metrics over http", defs[i].name, req.Method, req.URL, req.TLS != nil)
		}
		if v, ok := req.Header["Authorization"]; ok {
			t.Errorf("%s: Authorization header %q sent, want none (neither BearerToken nor a Secret configured)", defs[i].name, v)
		}
	}
	if requests, peak := in.counts(); requests != pods || peak != wantCap {
		t.Errorf("requests %d, peak in flight %d: want %d requests, at most the default MaxConcurrentScrapes %d at once", requests, peak, pods, wantCap)
	}

	cached := s.Get(pod.AllMetricsQuery, nil)
	if cached == nil {
		t.Fatal("Get after Refresh: got nil, want the value")
	}
	if cached.TTL != 30*time.Second {
		t.Fatalf("Get after Refresh: TTL %s, want the default, 30s", cached.TTL)
	}
	clk.SetTime(clk.Now().Add(30*time.Second - time.Millisecond))
	if got := s.Get(pod.AllMetricsQuery, nil); got == nil {
		t.Fatal("Get 1ms before the default TTL of 30s: got nil, want the value")
	}
	clk.SetTime(clk.Now().Add(time.Millisecond))
	if got := s.Get(pod.AllMetricsQuery, nil); got != nil {
		t.Fatalf("Get at the default TTL of 30s: got a value cached at %s, want nil (expired)", got.CachedAt)
	}
}

// The guide's default ScrapeTimeout, 5s, bounds a pod that never answers: its scrape
// fails with reason timeout after 5s, the others are kept. (The one test here that takes
// the default's 5 seconds.)
func TestGuideDefaultScrapeTimeoutIsFiveSeconds(t *testing.T) {
	t.Parallel()
	arrived := make(chan struct{}, 1)
	hang := http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-r.Context().Done()
	})
	f := startService(t, podDef{name: "hangs", handler: hang}, podDef{name: "ok", handler: serve([]byte("m 1\n"))})
	s := newSource(t, pod.PodScrapingSourceConfig{ServiceName: f.svc, ServiceNamespace: f.ns, MetricsPort: f.port})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	results, err := s.Refresh(ctx, source.RefreshSpec{})
	if err != nil {
		t.Fatal(err)
	}
	<-arrived
	r := results[pod.AllMetricsQuery]
	var se *pod.ScrapeError
	if !errors.As(r.Error, &se) || se.Pod != f.ns+"/hangs" {
		t.Fatalf("Error: got %v, want a *ScrapeError of pod %s/hangs", r.Error, f.ns)
	}
	if got := pod.ScrapeReason(se); got != pod.ReasonTimeout || !strings.HasPrefix(se.Err.Error(), "timeout after 5s") {
		t.Fatalf("hung pod: reason %q, error %q; want %q and an error starting \"timeout after 5s\"", got, se.Err, pod.ReasonTimeout)
	}
	if got := upByPod(r); got["hangs"] != 0 || got["ok"] != 1 {
		t.Fatalf("up by pod: got %v, want hangs 0, ok 1", got)
	}
	for _, v := range samples(r, "scrape_duration_seconds")["hangs"] {
		if v.Value < 4.5 || v.Value > 10 {
			t.Fatalf("scrape_duration_seconds of the hung pod: got %v, want about the default ScrapeTimeout, 5s", v.Value)
		}
	}
}

// The guide's MetricsPath and MetricsPort: pods may expose their metrics at a custom
// path (with a query string here) on the port given, and are asked for exactly that;
// a pod that serves nothing at /metrics is scraped there.
func TestGuideCustomMetricsPathIsWhatThePodsAreAskedFor(t *testing.T) {
	t.Parallel()
	rec := &recorder{body: []byte("m 1\n")}
	onlyThere := http.NewServeMux()
	onlyThere.Handle("/stats/prometheus", rec) // anything else: 404
	f := startService(t, podDef{name: "p", handler: onlyThere})
	cfg := f.config()
	cfg.MetricsPath = "/stats/prometheus?format=text&x=%2F"
	r := mustRefresh(t, newSource(t, cfg))
	if r.Error != nil {
		t.Fatal(r.Error)
	}
	seen := rec.seen()
	if len(seen) != 1 || seen[0].URL.RequestURI() != "/stats/prometheus?format=text&x=%2F" || seen[0].Host != fmt.Sprintf("%s:%d", f.servers["p"].IP, f.port) {
		t.Fatalf("requests: got %v, want one for /stats/prometheus?format=text&x=%%2F at the pod's IP and MetricsPort", seen)
	}
	if got := samples(r, "m")["p"]; len(got) != 1 || got[0].Value != 1 {
		t.Fatalf("m: got %v, want the pod's sample", got)
	}
}
