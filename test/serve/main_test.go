// Package serve holds the end-to-end tests of `podscrape serve` with the clients that
// read it in production: the library's PrometheusSource, client_golang's API client,
// promtool, and the real Prometheus server, both as the reference that answers the same
// queries over the same pods and as the server that federates several serve processes.
package serve

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/podscrape/podscrape/podscrapetest"
	"github.com/podscrape/podscrape/serve"
	"github.com/podscrape/podscrape/source/pod"
)

// env is the API server the tests share; each Service is in a namespace of its own.
var env *podscrapetest.Environment

func TestMain(m *testing.M) {
	ctrllog.SetLogger(logr.Discard())
	os.Exit(podscrapetest.Run(m, podscrapetest.Options{}, &env))
}

func newService(t *testing.T, opts podscrapetest.ServiceOptions) *podscrapetest.Service {
	t.Helper()
	svc, err := env.NewService(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svc.Close() })
	return svc
}

func sourceConfig(svc *podscrapetest.Service) pod.PodScrapingSourceConfig {
	return pod.PodScrapingSourceConfig{ServiceName: svc.Name, ServiceNamespace: svc.Namespace, MetricsPort: svc.Port}
}

// startServe runs a serve.Server of cfg on a loopback listener until the test ends and
// waits until it is ready; it returns its base URL.
func startServe(t *testing.T, cfg serve.Config) string {
	t.Helper()
	base := runServe(t, cfg)
	waitReady(t, base)
	return base
}

// runServe runs a serve.Server of cfg on a loopback listener until the test ends, ready
// or not; it returns its base URL.
func runServe(t *testing.T, cfg serve.Config) string {
	t.Helper()
	srv, err := serve.New(t.Context(), env.Client, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Run(ctx) }()
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		hs.Close()
		cancel()
		<-done
		_ = srv.Close()
	})
	return hs.URL
}

// waitReady polls base/-/ready until 200, for at most 30s.
func waitReady(t testing.TB, base string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(base + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready in 30s (%v)", base, err)
		}
		time.Sleep(20 * time.Millisecond) // polling readiness
	}
}
