package pod

import (
	"context"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
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
			`ServiceName "my_svc" is not a valid Kubernetes name: a lowercase RFC 1123 label`},
		{"service with a dot", func(c *PodScrapingSourceConfig) { c.ServiceName = "v.llm" }, `ServiceName "v.llm"`},
		{"service starting with a digit", func(c *PodScrapingSourceConfig) { c.ServiceName = "1vllm" }, ""},
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

// TestServiceNamesAsTheAPIServerValidates: the source refuses a Service name exactly when
// the test control plane refuses to create a Service of that name. A name starting with
// a digit is a Service the API server holds (relaxed Service name validation, on by
// default from Kubernetes 1.36): refusing it as invalid would keep the source off a
// Service that exists.
func TestServiceNamesAsTheAPIServerValidates(t *testing.T) {
	ctx := t.Context()
	const ns = "service-names"
	if err := cp.CreateNamespace(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	for _, name := range []string{"vllm", "1vllm", "123", "v-" + strings.Repeat("a", 61),
		"My_Service", "v.llm", "-vllm", "vllm-", "v" + strings.Repeat("a", 63)} {
		t.Run(name, func(t *testing.T) {
			err := cp.CreateService(ctx, ns, name, map[string]string{"app": "x"}, 8000)
			if apierrors.IsAlreadyExists(err) {
				err = nil // -count above 1
			}
			held := err == nil
			if !held && !apierrors.IsInvalid(err) {
				t.Fatalf("create service %q: %v, want it created or refused as invalid", name, err)
			}
			s, serr := NewPodScrapingSource(ctx, cp.Client,
				PodScrapingSourceConfig{ServiceName: name, ServiceNamespace: ns, MetricsPort: 8000})
			if serr == nil {
				s.Close()
			}
			if (serr == nil) != held {
				t.Fatalf("the API server %s Service %q (%v), the source %s it (%v)",
					map[bool]string{true: "holds", false: "refuses"}[held], name, err,
					map[bool]string{true: "takes", false: "refuses"}[serr == nil], serr)
			}
		})
	}
}
