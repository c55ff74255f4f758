package pod

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"sigs.k8s.io/controller-runtime/pkg/manager"
)

// Every field refused is a *ConfigError naming it, from Validate and, wrapped with the
// same message, from NewPodScrapingSource: a caller reading the config from its own file
// (serve --config) points at the field's key without reading the message.
func TestNewPodScrapingSourceRejectsBadConfig(t *testing.T) {
	valid := func() PodScrapingSourceConfig {
		return PodScrapingSourceConfig{ServiceName: "svc", ServiceNamespace: "ns", MetricsPort: 9090}
	}
	tests := []struct {
		name   string
		mutate func(*PodScrapingSourceConfig)
		field  string // ConfigError.Field
		want   string
	}{
		{"service name", func(c *PodScrapingSourceConfig) { c.ServiceName = "" }, "ServiceName", "ServiceName is required"},
		{"namespace", func(c *PodScrapingSourceConfig) { c.ServiceNamespace = "" }, "ServiceNamespace", "ServiceNamespace is required"},
		{"port zero", func(c *PodScrapingSourceConfig) { c.MetricsPort = 0 }, "MetricsPort", "MetricsPort 0 is outside 1-65535"},
		{"port too big", func(c *PodScrapingSourceConfig) { c.MetricsPort = 65536 }, "MetricsPort", "MetricsPort 65536 is outside 1-65535"},
		{"scheme", func(c *PodScrapingSourceConfig) { c.MetricsScheme = "ftp" }, "MetricsScheme", `MetricsScheme "ftp" is not "http" or "https"`},
		{"timeout", func(c *PodScrapingSourceConfig) { c.ScrapeTimeout = -time.Second }, "ScrapeTimeout", "ScrapeTimeout -1s is negative"},
		{"ttl", func(c *PodScrapingSourceConfig) { c.DefaultTTL = -time.Second }, "DefaultTTL", "DefaultTTL -1s is negative"},
		{"concurrency", func(c *PodScrapingSourceConfig) { c.MaxConcurrentScrapes = -1 }, "MaxConcurrentScrapes", "MaxConcurrentScrapes -1 is negative"},
		// Its parser pool is allocated at that size: 1<<40 was a fatal out of memory.
		{"concurrency huge", func(c *PodScrapingSourceConfig) { c.MaxConcurrentScrapes = 1 << 40 }, "MaxConcurrentScrapes", "MaxConcurrentScrapes 1099511627776 is more than 1000000"},
		{"body cap", func(c *PodScrapingSourceConfig) { c.MaxBodyBytes = -1 }, "MaxBodyBytes", "MaxBodyBytes -1 is negative"},
		{"sample limit", func(c *PodScrapingSourceConfig) { c.SampleLimit = -1 }, "SampleLimit", "SampleLimit -1 is negative"},
		{"interval", func(c *PodScrapingSourceConfig) { c.ScrapeInterval = -time.Second }, "ScrapeInterval", "ScrapeInterval -1s is negative"},
		{"retention", func(c *PodScrapingSourceConfig) { c.HistoryRetention = -time.Second }, "HistoryRetention", "HistoryRetention -1s is negative"},
		{"series limit", func(c *PodScrapingSourceConfig) { c.HistorySeriesLimit = -1 }, "HistorySeriesLimit", "HistorySeriesLimit -1 is negative"},
		{"path without slash", func(c *PodScrapingSourceConfig) { c.MetricsPath = "metrics" }, "MetricsPath", `MetricsPath "metrics" does not start with "/"`},
		{"path with host", func(c *PodScrapingSourceConfig) { c.MetricsPath = "//evil.example/metrics" }, "MetricsPath", `MetricsPath "//evil.example/metrics" is not a path`},
		{"path with fragment", func(c *PodScrapingSourceConfig) { c.MetricsPath = "/metrics#x" }, "MetricsPath", `MetricsPath "/metrics#x" is not a path`},
		// Kubernetes names, as the API server validates them.
		{"service name invalid", func(c *PodScrapingSourceConfig) { c.ServiceName = "Bad_Name" }, "ServiceName", `ServiceName "Bad_Name" is not a valid Kubernetes name`},
		{"namespace invalid", func(c *PodScrapingSourceConfig) { c.ServiceNamespace = "Bad_NS" }, "ServiceNamespace", `ServiceNamespace "Bad_NS" is not a valid Kubernetes name`},
		{"secret name invalid", func(c *PodScrapingSourceConfig) { c.MetricsReaderSecretName = "bad/secret" }, "MetricsReaderSecretName", `MetricsReaderSecretName "bad/secret" is not a valid Kubernetes name`},
		{"secret namespace invalid", func(c *PodScrapingSourceConfig) { c.MetricsReaderSecretNamespace = "Bad_NS" }, "MetricsReaderSecretNamespace", `MetricsReaderSecretNamespace "Bad_NS" is not a valid Kubernetes name`},
		{"secret key invalid", func(c *PodScrapingSourceConfig) { c.MetricsReaderSecretKey = "a/b" }, "MetricsReaderSecretKey", `MetricsReaderSecretKey "a/b" is not a valid Secret data key`},
		// TLS: settings ignored over http, and a CA bundle without a certificate.
		{"CA data", func(c *PodScrapingSourceConfig) { c.MetricsScheme, c.TLSCAData = "https", []byte("not pem") }, "TLSCAData", "TLSCAData holds no PEM certificate"},
		{"CA data over http", func(c *PodScrapingSourceConfig) { c.TLSCAData = []byte("not pem") }, "TLSCAData", `TLSCAData set with MetricsScheme "" (default "http")`},
		{"server name over http", func(c *PodScrapingSourceConfig) { c.MetricsScheme, c.TLSServerName = "http", "pods" }, "TLSServerName", `TLSServerName set with MetricsScheme "http"`},
		{"skip verify over http", func(c *PodScrapingSourceConfig) { c.InsecureSkipVerify = true }, "InsecureSkipVerify", `InsecureSkipVerify set with MetricsScheme`},
		{"server name and skip verify over http", func(c *PodScrapingSourceConfig) { c.TLSServerName, c.InsecureSkipVerify = "pods", true }, "TLSServerName", `TLSServerName, InsecureSkipVerify set with MetricsScheme`},
		// Auth.
		{"token with newline", func(c *PodScrapingSourceConfig) { c.BearerToken = "t\n" }, "BearerToken", "BearerToken starts or ends with a newline"},
		{"token with control character", func(c *PodScrapingSourceConfig) { c.BearerToken = "a\x00b" }, "BearerToken", "BearerToken holds a newline or another control character"},
		{"token and token file", func(c *PodScrapingSourceConfig) { c.BearerToken, c.BearerTokenFile = "t", "/f" }, "BearerTokenFile", "BearerToken and BearerTokenFile are both set: set one"},
		{"secret and token file", func(c *PodScrapingSourceConfig) { c.MetricsReaderSecretName, c.BearerTokenFile = "s", "/f" }, "BearerTokenFile", `BearerTokenFile "/f" and MetricsReaderSecretName "s" are both set: set one`},
		// PodLabels, each way an entry is refused.
		{"pod label not a key", func(c *PodScrapingSourceConfig) { c.PodLabels = []string{"app", "bad key"} }, "PodLabels", `PodLabels: "bad key" is not a Kubernetes label key`},
		{"pod label scraper's", func(c *PodScrapingSourceConfig) { c.PodLabels = []string{"pod"} }, "PodLabels", `PodLabels: "pod" maps to "pod", a label the scraper sets itself`},
		{"pod labels colliding", func(c *PodScrapingSourceConfig) { c.PodLabels = []string{"a.b", "a-b"} }, "PodLabels", `PodLabels: "a.b" and "a-b" both map to "a_b"`},
		{"pod label not a label name", func(c *PodScrapingSourceConfig) { c.PodLabels = []string{"9app"} }, "PodLabels", `PodLabels: "9app" maps to "9app", not a valid Prometheus label name`},
		// The loop's history would never hold two scrapes: every range window partial.
		{"retention under a scrape", func(c *PodScrapingSourceConfig) {
			c.ScrapeInterval, c.HistoryRetention = 15*time.Second, 18*time.Second
		}, "HistoryRetention",
			"HistoryRetention 18s is shorter than a scrape of the loop (ScrapeInterval 15s plus ScrapeTimeout 5s)"},
		{"default retention under a scrape", func(c *PodScrapingSourceConfig) { c.ScrapeInterval = 10 * time.Minute }, "HistoryRetention",
			"HistoryRetention 10m0s (its default) is shorter than a scrape of the loop (ScrapeInterval 10m0s plus ScrapeTimeout 5s)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := valid()
			tc.mutate(&cfg)
			verr := cfg.Validate()
			var ce *ConfigError
			if !errors.As(verr, &ce) || ce.Field != tc.field || !strings.Contains(verr.Error(), tc.want) {
				t.Fatalf("Validate: got %v (%#v), want a *ConfigError of field %s saying %q", verr, ce, tc.field, tc.want)
			}
			_, err := NewPodScrapingSource(context.Background(), cp.Client, cfg)
			if err == nil || err.Error() != "pod scraping source config: "+verr.Error() {
				t.Fatalf("NewPodScrapingSource: got %v, want %q", err, "pod scraping source config: "+verr.Error())
			}
			if ce = nil; !errors.As(err, &ce) || ce.Field != tc.field {
				t.Fatalf("NewPodScrapingSource: got %v (%#v), want a *ConfigError of field %s", err, ce, tc.field)
			}
		})
	}
	if err := valid().Validate(); err != nil {
		t.Fatalf("a valid config: Validate returned %v", err)
	}
	if _, err := NewPodScrapingSource(context.Background(), nil, valid()); err == nil {
		t.Fatal("nil reader: got nil error")
	}
}

// A Registerer that holds metrics of the Service's names and service label that no
// source registered (a program's own collector) fails NewPodScrapingSource with a
// *ConfigError of field Registerer, wrapping the Registerer's error (its
// prometheus.AlreadyRegisteredError when the collector is the same set), and leaves it as
// it was; Validate cannot know it. A second source of the Service shares the first's
// (TestReplacementSourceSharesTheServicesMetrics).
func TestForeignMetricsOnTheRegistererAreAConfigError(t *testing.T) {
	cfg := PodScrapingSourceConfig{ServiceName: "svc", ServiceNamespace: "ns", MetricsPort: 9090}
	check := func(what string, foreign prometheus.Collector, alreadyRegistered bool) {
		t.Helper()
		reg := prometheus.NewRegistry()
		reg.MustRegister(foreign)
		before, err := testutil.GatherAndCount(reg)
		if err != nil {
			t.Fatal(err)
		}
		c := cfg
		c.Registerer = reg
		_, err = NewPodScrapingSource(context.Background(), cp.Client, c)
		var ce *ConfigError
		var are prometheus.AlreadyRegisteredError
		if !errors.As(err, &ce) || ce.Field != "Registerer" || errors.As(err, &are) != alreadyRegistered ||
			!strings.HasPrefix(err.Error(), "pod scraping source: register metrics of service ns/svc") {
			t.Fatalf("%s: got %v, want a *ConfigError of field Registerer naming the service (wrapping prometheus.AlreadyRegisteredError: %v)", what, err, alreadyRegistered)
		}
		if after, _ := testutil.GatherAndCount(reg); after != before {
			t.Fatalf("%s: %d series after the failed registration, want the %d before", what, after, before)
		}
	}
	check("a gauge of the same name and service", prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "podscrape_pods_ready", Help: "Pods scraped at the last discovery: Ready, not terminating, with an IP; 0 when the last discovery failed (see podscrape_discovery_failures_total).",
		ConstLabels: prometheus.Labels{"service": "ns/svc"},
	}), false)
	check("the same collectors, registered by another", struct{ prometheus.Collector }{newServiceMetrics(nil, "ns/svc")}, true)
}

func TestNewPodScrapingSourceAppliesDefaultsAndCopies(t *testing.T) {
	in := PodScrapingSourceConfig{ServiceName: "svc", ServiceNamespace: "ns", MetricsPort: 9090, MetricsReaderSecretName: "s", TLSCAData: nil}
	s, err := NewPodScrapingSource(context.Background(), cp.Client, in)
	if err != nil {
		t.Fatal(err)
	}
	got := s.config
	checks := []struct {
		field     string
		got, want any
	}{
		{"MetricsPath", got.MetricsPath, "/metrics"},
		{"MetricsScheme", got.MetricsScheme, "http"},
		{"MetricsReaderSecretNamespace", got.MetricsReaderSecretNamespace, "ns"},
		{"MetricsReaderSecretKey", got.MetricsReaderSecretKey, "token"},
		{"ScrapeTimeout", got.ScrapeTimeout, 5 * time.Second},
		{"MaxConcurrentScrapes", got.MaxConcurrentScrapes, 10},
		{"DefaultTTL", got.DefaultTTL, 30 * time.Second},
		{"MaxBodyBytes", got.MaxBodyBytes, int64(16 << 20)},
		{"SampleLimit", got.SampleLimit, 0},
		{"InsecureSkipVerify", got.InsecureSkipVerify, false},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.field, c.got, c.want)
		}
	}
	if in.MetricsPath != "" || in.MetricsReaderSecretNamespace != "" {
		t.Fatalf("the caller's config was changed: %+v", in)
	}
	if d := DefaultPodScrapingSourceConfig(); d.MetricsPath != "/metrics" || d.ScrapeTimeout != 5*time.Second ||
		d.MaxConcurrentScrapes != 10 || d.DefaultTTL != 30*time.Second || d.MetricsScheme != "http" || d.MetricsReaderSecretKey != "token" {
		t.Fatalf("DefaultPodScrapingSourceConfig: got %+v", d)
	}
	if got := s.QueryList().List(); len(got) != 1 || got[0] != AllMetricsQuery {
		t.Fatalf("registered queries: got %v, want [all_metrics]", got)
	}
}

func TestPodURL(t *testing.T) {
	cfg := PodScrapingSourceConfig{MetricsScheme: "https", MetricsPort: 8443, MetricsPath: "/m?x=1"}
	tmpl, err := metricsURLTemplate(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := &PodScrapingSource{config: cfg, metricsURL: tmpl}
	for ip, want := range map[string]string{
		"10.0.0.1": "https://10.0.0.1:8443/m?x=1",
		"fd00::1":  "https://[fd00::1]:8443/m?x=1",
	} {
		if got := s.podURL(ip).String(); got != want {
			t.Errorf("podURL(%s): got %s, want %s", ip, got, want)
		}
	}
}

// Pods are dialled directly: a proxy from the environment (HTTPS_PROXY, ...) would see
// every pod's token. And gzip is left to the scraper, so the body cap counts decompressed
// bytes.
func TestTransportUsesNoProxyAndNoAutomaticGzip(t *testing.T) {
	tr, err := newTransport(&PodScrapingSourceConfig{ScrapeTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if tr.Proxy != nil {
		t.Fatal("Proxy: got a proxy function, want nil (no proxy)")
	}
	if !tr.DisableCompression {
		t.Fatal("DisableCompression: got false, want true")
	}
}

// TestScrapeLoopRunsOnEveryReplica: a manager runs the source's scrape loop (mgr.Add) on
// every replica, leader or not, as docs/library.md's Cadence says: each replica answers
// PromQL from its own history, and one waiting for the lease would answer ErrNoHistory
// until it won it.
func TestScrapeLoopRunsOnEveryReplica(t *testing.T) {
	s, err := NewPodScrapingSource(context.Background(), cp.Client, PodScrapingSourceConfig{ServiceName: "svc", ServiceNamespace: "ns", MetricsPort: 9090})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var r manager.LeaderElectionRunnable = s
	if r.NeedLeaderElection() {
		t.Error("NeedLeaderElection: got true, want false (every replica keeps its own history)")
	}
}
