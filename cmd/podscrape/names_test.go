package main

import "testing"

// TestNamesKubernetesRefusesAreUsageErrors: a namespace, Service or Secret name the API
// server could never hold is a usage error (exit 2) saying the name is invalid, never
// "service ... not found" (exit 1).
func TestNamesKubernetesRefusesAreUsageErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"namespace", []string{"-n", "Bad_Namespace", "scrape", "vllm", "--port", "8000"},
			`Error: namespace (-n, or the kubeconfig context's) "Bad_Namespace" is not a valid Kubernetes name: a lowercase RFC 1123 label`},
		{"namespace after the command", []string{"query", "up", "vllm", "--port", "8000", "-n", "llm.d"},
			`Error: namespace (-n, or the kubeconfig context's) "llm.d" is not a valid Kubernetes name`},
		{"service", []string{"scrape", "My_Service", "--port", "8000"},
			`Error: SERVICE "My_Service" is not a valid Kubernetes name: a DNS-1035 label`},
		{"secret", []string{"scrape", "vllm", "--port", "8000", "--secret", "a/b"},
			`Error: --secret "a/b" is not a valid Kubernetes name`},
		{"secret namespace", []string{"scrape", "vllm", "--port", "8000", "--secret", "s", "--secret-namespace", "X"},
			`Error: --secret-namespace "X" is not a valid Kubernetes name`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := podscrape(t, tc.args...)
			if r.code != exitUsage {
				t.Fatalf("exit: got %d, want %d; stderr:\n%s", r.code, exitUsage, r.stderr)
			}
			mustContain(t, "stderr", r.stderr, tc.want)
		})
	}
}
