package pod

import (
	"context"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/manager"
)

func TestNewPodScrapingSourceRejectsBadConfig(t *testing.T) {
	valid := func() PodScrapingSourceConfig {
		return PodScrapingSourceConfig{ServiceName: "svc", ServiceNamespace: "ns", MetricsPort: 9090}
	}
	tests := []struct {
		name   string
		mutate func(*PodScrapingSourceConfig)
		want   string
	}{
		{"service name", func(c *PodScrapingSourceConfig) { c.ServiceName = "" }, "ServiceName is required"},
		{"namespace", func(c *PodScrapingSourceConfig) { c.ServiceNamespace = "" }, "ServiceNamespace is required"},
		{"port zero", func(c *PodScrapingSourceConfig) { c.MetricsPort = 0 }, "MetricsPort 0 is outside 1-65535"},
		{"port too big", func(c *PodScrapingSourceConfig) { c.MetricsPort = 65536 }, "MetricsPort 65536 is outside 1-65535"},
		{"scheme", func(c *PodScrapingSourceConfig) { c.MetricsScheme = "ftp" }, `MetricsScheme "ftp" is not "http" or "https"`},
		{"timeout", func(c *PodScrapingSourceConfig) { c.ScrapeTimeout = -time.Second }, "ScrapeTimeout -1s is negative"},
		{"ttl", func(c *PodScrapingSourceConfig) { c.DefaultTTL = -time.Second }, "DefaultTTL -1s is negative"},
		{"concurrency", func(c *PodScrapingSourceConfig) { c.MaxConcurrentScrapes = -1 }, "MaxConcurrentScrapes -1 is negative"},
		{"body cap", func(c *PodScrapingSourceConfig) { c.MaxBodyBytes = -1 }, "MaxBodyBytes -1 is negative"},
		{"sample limit", func(c *PodScrapingSourceConfig) { c.SampleLimit = -1 }, "SampleLimit -1 is negative"},
		{"path without slash", func(c *PodScrapingSourceConfig) { c.MetricsPath = "metrics" }, `MetricsPath "metrics" does not start with "/"`},
		{"path with host", func(c *PodScrapingSourceConfig) { c.MetricsPath = "//evil.example/metrics" }, `MetricsPath "//evil.example/metrics" is not a path`},
		{"CA data", func(c *PodScrapingSourceConfig) { c.MetricsScheme, c.TLSCAData = "https", []byte("not pem") }, "TLSCAData holds no PEM certificate"},
		{"token and token file", func(c *PodScrapingSourceConfig) { c.BearerToken, c.BearerTokenFile = "t", "/f" }, "BearerToken and BearerTokenFile are both set: set one"},
		{"secret and token file", func(c *PodScrapingSourceConfig) { c.MetricsReaderSecretName, c.BearerTokenFile = "s", "/f" }, `BearerTokenFile "/f" and MetricsReaderSecretName "s" are both set: set one`},
		// The loop's history would never hold two scrapes: every range window partial.
		{"retention under a scrape", func(c *PodScrapingSourceConfig) {
			c.ScrapeInterval, c.HistoryRetention = 15*time.Second, 18*time.Second
		},
			"HistoryRetention 18s is shorter than a scrape of the loop (ScrapeInterval 15s plus ScrapeTimeout 5s)"},
		{"default retention under a scrape", func(c *PodScrapingSourceConfig) { c.ScrapeInterval = 10 * time.Minute },
			"HistoryRetention 10m0s (its default) is shorter than a scrape of the loop (ScrapeInterval 10m0s plus ScrapeTimeout 5s)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := valid()
			tc.mutate(&cfg)
			_, err := NewPodScrapingSource(context.Background(), cp.Client, cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
	if _, err := NewPodScrapingSource(context.Background(), nil, valid()); err == nil {
		t.Fatal("nil reader: got nil error")
	}
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
