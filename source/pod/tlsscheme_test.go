package pod

import (
	"strings"
	"testing"

	"github.com/podscrape/podscrape/internal/localcluster"
)

// TLS settings are used only over https. With http (named or the default) the transport
// ignores them: the pods would be scraped in clear text, the token with them, while the
// config reads as verified. NewPodScrapingSource refuses them, naming each field set and
// the scheme; with https it accepts them.
func TestTLSSettingsNeedHTTPS(t *testing.T) {
	ca, err := localcluster.NewCA("tlsscheme")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		mutate func(*PodScrapingSourceConfig)
		want   string // "" when accepted
	}{
		{"InsecureSkipVerify, default scheme", func(c *PodScrapingSourceConfig) { c.InsecureSkipVerify = true },
			`InsecureSkipVerify set with MetricsScheme "" (default "http"): TLS settings need MetricsScheme "https"`},
		{"TLSServerName, http", func(c *PodScrapingSourceConfig) { c.MetricsScheme, c.TLSServerName = "http", "vllm.llm-d.svc" },
			`TLSServerName set with MetricsScheme "http": TLS settings need MetricsScheme "https"`},
		{"TLSCAData, default scheme", func(c *PodScrapingSourceConfig) { c.TLSCAData = ca.PEM },
			`TLSCAData set with MetricsScheme "" (default "http")`},
		{"all three, http", func(c *PodScrapingSourceConfig) {
			c.MetricsScheme, c.TLSCAData, c.TLSServerName, c.InsecureSkipVerify = "http", ca.PEM, "vllm.llm-d.svc", true
		}, `TLSCAData, TLSServerName, InsecureSkipVerify set with MetricsScheme "http"`},
		{"all three, https", func(c *PodScrapingSourceConfig) {
			c.MetricsScheme, c.TLSCAData, c.TLSServerName, c.InsecureSkipVerify = "https", ca.PEM, "vllm.llm-d.svc", true
		}, ""},
		{"none, http", func(c *PodScrapingSourceConfig) { c.MetricsScheme = "http" }, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := PodScrapingSourceConfig{ServiceName: "vllm", ServiceNamespace: "llm-d", MetricsPort: 8000, BearerToken: "token-for-the-pods"}
			tc.mutate(&cfg)
			if err := checkNewSource(t, cfg, tc.want); err != nil && strings.Contains(err.Error(), cfg.BearerToken) {
				t.Fatalf("the error shows the token: %v", err)
			}
		})
	}
}
