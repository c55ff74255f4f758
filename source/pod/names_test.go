package pod

import (
	"context"
	"strings"
	"testing"
)

// TestConfigRefusesNamesKubernetesRefuses: a name the API server could never hold is a
// config error naming the field and the value, not "service not found" later; every
// name Kubernetes accepts passes.
func TestConfigRefusesNamesKubernetesRefuses(t *testing.T) {
	valid := func() PodScrapingSourceConfig {
		return PodScrapingSourceConfig{ServiceName: "vllm", ServiceNamespace: "llm-d", MetricsPort: 8000}
	}
	for _, tc := range []struct {
		name   string
		mutate func(*PodScrapingSourceConfig)
		want   string // "" when the config is valid
	}{
		{"namespace with capitals", func(c *PodScrapingSourceConfig) { c.ServiceNamespace = "Not_A_Namespace" },
			`ServiceNamespace "Not_A_Namespace" is not a valid Kubernetes name: a lowercase RFC 1123 label`},
		{"namespace too long", func(c *PodScrapingSourceConfig) { c.ServiceNamespace = strings.Repeat("a", 64) },
			`ServiceNamespace "` + strings.Repeat("a", 64) + `" is not a valid Kubernetes name: must be no more than 63 characters`},
		{"namespace with a dot", func(c *PodScrapingSourceConfig) { c.ServiceNamespace = "llm.d" }, `ServiceNamespace "llm.d"`},
		{"service with an underscore", func(c *PodScrapingSourceConfig) { c.ServiceName = "my_svc" },
			`ServiceName "my_svc" is not a valid Kubernetes name: a DNS-1035 label`},
		{"service starting with a digit", func(c *PodScrapingSourceConfig) { c.ServiceName = "1vllm" }, `ServiceName "1vllm"`},
		{"secret with a slash", func(c *PodScrapingSourceConfig) { c.MetricsReaderSecretName = "a/b" }, `MetricsReaderSecretName "a/b"`},
		{"secret namespace", func(c *PodScrapingSourceConfig) {
			c.MetricsReaderSecretName = "s"
			c.MetricsReaderSecretNamespace = "Bad"
		}, `MetricsReaderSecretNamespace "Bad"`},
		{"digits-first namespace", func(c *PodScrapingSourceConfig) { c.ServiceNamespace = "123-abc" }, ""},
		{"dotted secret", func(c *PodScrapingSourceConfig) { c.MetricsReaderSecretName = "epp.metrics-reader" }, ""},
		{"63-character names", func(c *PodScrapingSourceConfig) {
			c.ServiceName = "v" + strings.Repeat("a", 62)
			c.ServiceNamespace = strings.Repeat("a", 63)
		}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := valid()
			tc.mutate(&cfg)
			s, err := NewPodScrapingSource(context.Background(), cp.Client, cfg)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("got %v, want the name accepted", err)
				}
				s.Close()
				return
			}
			if err == nil {
				s.Close()
				t.Fatalf("got no error, want one containing %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
