package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"

	"github.com/podscrape/podscrape/serve"
	"github.com/podscrape/podscrape/source/pod"
)

// TestServeSecretReadsAreNotThrottled: every Service's loop scrapes at the same moment,
// and each scrape of a Service with a token Secret reads it from the API server. The
// rate limiter of the client serve reads them with (serveAPIConfig's config, made into
// client-go's own REST client) lets all those reads through at once, and again at their
// steady rate, without a wait. Before, client-go's default (5 a second, a burst of 10)
// held the 11th Service's read and the ones after it.
func TestServeSecretReadsAreNotThrottled(t *testing.T) {
	for _, tc := range []struct {
		services int
		interval time.Duration
		maxAge   time.Duration
		wantQPS  float32
	}{
		{services: 40, interval: 15 * time.Second, wantQPS: serveAPIQPS},
		{services: 40, interval: time.Second, wantQPS: 80},
		{services: 10, interval: 15 * time.Second, maxAge: 100 * time.Millisecond, wantQPS: 200},
	} {
		name := fmt.Sprintf("%d Services with Secrets, --interval %s, --max-age %s", tc.services, tc.interval, tc.maxAge)
		var services []serve.ServiceConfig
		for i := range tc.services {
			services = append(services, serve.ServiceConfig{Source: pod.PodScrapingSourceConfig{
				ServiceName: fmt.Sprintf("vllm-%d", i), ServiceNamespace: "llm-d", MetricsPort: 8000,
				MetricsReaderSecretName: "reader", MetricsReaderSecretNamespace: "llm-d", MetricsReaderSecretKey: "token",
			}})
		}
		// A Service without a Secret reads nothing per scrape.
		services = append(services, serve.ServiceConfig{Source: pod.PodScrapingSourceConfig{ServiceName: "open", ServiceNamespace: "llm-d", MetricsPort: 8000}})
		cfg := serveAPIConfig(&rest.Config{Host: "https://127.0.0.1:6443"}, services, tc.interval, tc.maxAge)
		if cfg.QPS != tc.wantQPS {
			t.Errorf("%s: QPS %v, want %v", name, cfg.QPS, tc.wantQPS)
		}
		cfg.GroupVersion = &corev1.SchemeGroupVersion
		cfg.APIPath = "/api"
		cfg.NegotiatedSerializer = scheme.Codecs.WithoutConversion()
		rc, err := rest.RESTClientFor(cfg)
		if err != nil {
			t.Fatal(err)
		}
		limiter := rc.GetRateLimiter()
		// Every Service's interval read and a --max-age query's read at the same moment:
		// none waits (TryAccept is the limiter's Wait without the waiting).
		for i := range 2 * tc.services {
			if !limiter.TryAccept() {
				t.Errorf("%s: read %d of %d at once throttled (QPS %v, burst %d)", name, i+1, 2*tc.services, cfg.QPS, cfg.Burst)
				break
			}
		}
		// And their steady rate fits the limit, twice over.
		every := min(tc.interval, tc.maxAge)
		if tc.maxAge == 0 {
			every = tc.interval
		}
		if need := float64(tc.services) * float64(time.Second) / float64(every); float64(cfg.QPS) < 2*need {
			t.Errorf("%s: QPS %v, below twice the %v reads a second the Services make", name, cfg.QPS, need)
		}
	}
}

// TestServeSecretReadRateIsBounded: a --max-age shorter than a Service's scrape cannot
// make its scrapes, each of which reads the token Secret once, come more often than they
// last; serveAPIConfig counts it as serveAPIMinReadPeriod, so that --max-age 1ns leaves a
// client-side limit. Before, the QPS was 2/maxAge per Service: 2e9 a second, no limit at
// all, and a query loop could read the Secret as fast as the API server answered.
func TestServeSecretReadRateIsBounded(t *testing.T) {
	services := []serve.ServiceConfig{{Source: pod.PodScrapingSourceConfig{
		ServiceName: "vllm", ServiceNamespace: "llm-d", MetricsPort: 8000, MetricsReaderSecretName: "reader",
	}}}
	floor := serveAPIConfig(&rest.Config{}, services, 15*time.Second, serveAPIMinReadPeriod)
	for _, maxAge := range []time.Duration{time.Nanosecond, time.Millisecond, serveAPIMinReadPeriod / 2} {
		cfg := serveAPIConfig(&rest.Config{}, services, 15*time.Second, maxAge)
		if cfg.QPS != floor.QPS || cfg.Burst != floor.Burst {
			t.Errorf("--max-age %s: QPS %v, burst %d; want those of --max-age %s, %v and %d", maxAge, cfg.QPS, cfg.Burst, serveAPIMinReadPeriod, floor.QPS, floor.Burst)
		}
	}
	// 40 Services with Secrets at --max-age 1ns: 800 a second, not 80 billion.
	many := make([]serve.ServiceConfig, 40)
	for i := range many {
		many[i] = services[0]
		many[i].Source.ServiceName = fmt.Sprintf("vllm-%d", i)
	}
	if cfg := serveAPIConfig(&rest.Config{}, many, 15*time.Second, time.Nanosecond); cfg.QPS != 800 {
		t.Errorf("40 Services, --max-age 1ns: QPS %v, want 800 (two reads every %s each)", cfg.QPS, serveAPIMinReadPeriod)
	}
}

// TestServeWarnsOfRetentionAndLookbackShorterThanAScrape: under --max-age, queries
// scrape too, so a --retention or the lookback delta shorter than a Service's interval
// plus its timeout is accepted, but serve says at start what it costs: range windows, and
// queries evaluated before now (a past instant, which scrapes at now all the same; a range
// query's steps), see no scrape of their own. Without
// --max-age such settings are refused (TestServeUsageErrors).
func TestServeWarnsOfRetentionAndLookbackShorterThanAScrape(t *testing.T) {
	svc := func(name string, interval, timeout time.Duration) serve.ServiceConfig {
		return serve.ServiceConfig{Interval: interval, Source: pod.PodScrapingSourceConfig{ServiceName: name, ServiceNamespace: "llm-d", ScrapeTimeout: timeout}}
	}
	o := &serveOptions{interval: 15 * time.Second, retention: time.Minute, maxAge: 2 * time.Second}
	got := o.warnings([]serve.ServiceConfig{svc("vllm", 0, 0), svc("slow", time.Minute, 0), svc("epp", 10*time.Minute, 30*time.Second)})
	want := []string{
		"services[1] (llm-d/slow): --retention 1m0s is shorter than its interval 1m0s plus its timeout 5s",
		"services[2] (llm-d/epp): --retention 1m0s is shorter than its interval 10m0s plus its timeout 30s",
		"services[2] (llm-d/epp): its interval 10m0s plus its timeout 30s is longer than the 5m0s lookback delta",
	}
	if len(got) != len(want) {
		t.Fatalf("got %d warnings %q, want %d", len(got), got, len(want))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("warning %d: got %q, want it to start %q", i, got[i], want[i])
		}
	}
	// Every instant query scrapes first under --max-age, one at a past time too (it is
	// evaluated at its time all the same): the warning must not say it scrapes nothing.
	if lookback := got[2]; strings.Contains(lookback, "scrapes nothing first (a past time") || !strings.Contains(lookback, "evaluated at an earlier time") {
		t.Errorf("lookback warning: got %q, want it to say the queries evaluated at an earlier time, not that a past time scrapes nothing", lookback)
	}
	if !strings.Contains(got[2], "(--lookback-delta 10m30s or more would find it)") {
		t.Errorf("lookback warning: got %q, want it to name the --lookback-delta that would find the sample", got[2])
	}
	// A --lookback-delta that reaches across the interval: no lookback warning.
	o.lookbackDelta = 11 * time.Minute
	if got := o.warnings([]serve.ServiceConfig{svc("epp", 10*time.Minute, 30*time.Second)}); len(got) != 1 || !strings.Contains(got[0], "--retention") {
		t.Errorf("--lookback-delta 11m: got %q, want the --retention warning alone", got)
	}
	o.lookbackDelta = 0
	o.maxAge = 0 // refused instead, by validate and serve.Config
	if got := o.warnings([]serve.ServiceConfig{svc("epp", 10*time.Minute, 0)}); len(got) != 0 {
		t.Errorf("without --max-age: warnings %q, want none", got)
	}
}

// TestServeWarnsOfAMaxAgeThatNeverScrapes: a --max-age no shorter than every Service's
// interval makes no query scrape while the intervals' scrapes are on time (theirs are
// fresher), yet still reads a query's time up to --max-age back as now: serve says so at
// start. One shorter than a Service's interval is what --max-age is for: no warning.
func TestServeWarnsOfAMaxAgeThatNeverScrapes(t *testing.T) {
	svc := func(interval time.Duration) serve.ServiceConfig {
		return serve.ServiceConfig{Interval: interval, Source: pod.PodScrapingSourceConfig{ServiceName: "vllm", ServiceNamespace: "llm-d"}}
	}
	o := &serveOptions{interval: 15 * time.Second, retention: 10 * time.Minute, maxAge: 30 * time.Second}
	got := o.warnings([]serve.ServiceConfig{svc(0), svc(20 * time.Second)})
	if want := "--max-age 30s is not shorter than any Service's interval (the longest is 20s)"; len(got) != 1 || !strings.HasPrefix(got[0], want) {
		t.Errorf("got %q, want one warning starting %q", got, want)
	}
	if got := o.warnings([]serve.ServiceConfig{svc(0), svc(time.Minute)}); len(got) != 0 {
		t.Errorf("--max-age 30s with a Service scraped every minute: got %q, want no warning", got)
	}
}
