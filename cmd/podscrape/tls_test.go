package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/podscrape/podscrape/internal/localcluster"
)

// TestScrapeHTTPSPods scrapes a Service whose pod serves https with a certificate of a
// private CA: verified with --pod-ca-file, refused without it, accepted unverified only
// when asked.
func TestScrapeHTTPSPods(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ca, err := localcluster.NewCA("podscrape-cli-test")
	if err != nil {
		t.Fatal(err)
	}
	ip := localcluster.NewAddressBlock().Next()
	cert, err := ca.ServerCert([]string{ip}, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := localcluster.ServeTLS(ip, 0, llmd.Simulation.Handler("vllm-0"), cert)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	svc := unique("https-metrics")
	selector := map[string]string{"app": svc}
	if err := cp.CreateService(ctx, llmd.Namespace, svc, selector, int32(srv.Port)); err != nil {
		t.Fatal(err)
	}
	if _, err := cp.CreatePod(ctx, localcluster.PodSpec{Namespace: llmd.Namespace, Name: svc + "-0", Labels: selector, IP: ip, Ready: true}); err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, ca.PEM, 0o600); err != nil {
		t.Fatal(err)
	}

	scrape := []string{"scrape", svc, "--port", port(int32(srv.Port)), "--scheme", "https", "--metric", "vllm:num_requests_running"}
	for _, tc := range []struct {
		name  string
		flags []string
		code  int
		want  string
	}{
		{"verified with the CA", []string{"--pod-ca-file", caFile}, 0, "1 of 1 pods up"},
		{"unknown CA", nil, 1, "certificate"},
		{"unverified on request", []string{"--pod-insecure-skip-tls-verify"}, 0, "1 of 1 pods up"},
		{"wrong server name", []string{"--pod-ca-file", caFile, "--pod-tls-server-name", "other.example"}, 1, "other.example"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := podscrape(t, append(scrape, tc.flags...)...)
			if r.code != tc.code {
				t.Fatalf("exit code: got %d, want %d; stderr:\n%s", r.code, tc.code, r.stderr)
			}
			mustContain(t, "output", r.stdout+r.stderr, tc.want)
		})
	}
	for _, tc := range []struct {
		flags []string
		want  string
	}{
		{[]string{"--pod-ca-file", caFile, "--scheme", "http"}, "--pod-ca-file needs --scheme https"},
		{[]string{"--pod-insecure-skip-tls-verify", "--scheme", "http"}, "--pod-insecure-skip-tls-verify needs --scheme https"},
		{[]string{"--pod-ca-file", filepath.Join(t.TempDir(), "missing.pem")}, "--pod-ca-file: open"},
		{[]string{"--pod-ca-file", "tls_test.go"}, "holds no PEM certificate"},
	} {
		r := podscrape(t, append(scrape, tc.flags...)...)
		if r.code != 2 {
			t.Fatalf("%v: exit code: got %d, want 2; stderr:\n%s", tc.flags, r.code, r.stderr)
		}
		mustContain(t, "stderr", r.stderr, tc.want)
	}
}
