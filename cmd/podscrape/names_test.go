package main

import (
	"context"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

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
			`Error: SERVICE "My_Service" is not a valid Kubernetes name: a lowercase RFC 1123 label`},
		{"secret", []string{"scrape", "vllm", "--port", "8000", "--secret", "a/b"},
			`Error: --secret "a/b" is not a valid Kubernetes name`},
		{"secret namespace", []string{"scrape", "vllm", "--port", "8000", "--secret", "s", "--secret-namespace", "X"},
			`Error: --secret-namespace "X" is not a valid Kubernetes name`},
		// An unset variable of a script ("$SERVICE", "$SECRET", "$TOKEN") gives an empty
		// value: it names the argument or flag, not the library's config field, and never
		// scrapes without the token the script meant to send.
		{"empty service", []string{"scrape", "", "--port", "8000"}, `Error: SERVICE is empty: give the Service's name`},
		{"empty service of serve", []string{"serve", "", "--port", "8000", "--listen", "127.0.0.1:0"}, `Error: SERVICE is empty: give the Service's name`},
		{"empty secret", []string{"query", "up", "vllm", "--port", "8000", "--secret", ""}, `Error: --secret is empty: give the Secret's name`},
		{"empty token", []string{"scrape", "vllm", "--port", "8000", "--token", ""}, `Error: --token is empty: give the token`},
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

// TestServiceNameStartingWithADigitIsScraped: a Service whose name starts with a digit
// is one the API server holds (relaxed Service name validation, on by default from
// Kubernetes 1.36; the test control plane creates it), so the CLI scrapes it rather than
// refuse it as an invalid name.
func TestServiceNameStartingWithADigitIsScraped(t *testing.T) {
	t.Parallel()
	name := unique("1vllm")
	if err := cp.CreateService(t.Context(), llmd.Namespace, name, llmd.VLLMSelector, llmd.VLLMPort); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cp.Client.Delete(context.Background(), &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: llmd.Namespace, Name: name}})
	})
	r := podscrape(t, "-n", llmd.Namespace, "scrape", name, "--port", port(llmd.VLLMPort), "--metric", "vllm:num_requests_waiting")
	if r.code != exitOK {
		t.Fatalf("exit: got %d, want %d; stderr:\n%s", r.code, exitOK, r.stderr)
	}
	mustContain(t, "stdout", r.stdout, fmt.Sprintf("Service %s/%s: 2 of 2 pods up", llmd.Namespace, name), "vllm:num_requests_waiting")
}
