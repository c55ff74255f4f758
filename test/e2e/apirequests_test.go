package e2e

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/podscrape/podscrape/internal/localcluster"
	"github.com/podscrape/podscrape/source/pod"
)

// requestCounter counts the API requests made through a rest.Config it wraps.
type requestCounter struct {
	mu       sync.Mutex // protects requests
	requests []string
}

func (c *requestCounter) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripperFunc(func(r *http.Request) (*http.Response, error) {
		c.mu.Lock()
		c.requests = append(c.requests, r.Method+" "+r.URL.Path)
		c.mu.Unlock()
		return rt.RoundTrip(r)
	})
}

// take returns the requests since the last take.
func (c *requestCounter) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.requests
	c.requests = nil
	return out
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// countedConfig is the admin config with every request counted.
func countedConfig() (*rest.Config, *requestCounter) {
	counter := &requestCounter{}
	cfg := rest.CopyConfig(cp.Config)
	cfg.Wrap(counter.wrap)
	return cfg, counter
}

func fivePods(t *testing.T) *svcFixture {
	t.Helper()
	defs := make([]podDef, 5)
	for i := range defs {
		defs[i] = podDef{name: fmt.Sprintf("p%d", i), handler: serve([]byte("m 1\n"))}
	}
	return startService(t, defs...)
}

func TestAPIRequestsDirectClientIndependentOfPodCount(t *testing.T) {
	t.Parallel()
	f := fivePods(t)
	createSecret(t, f.ns, "reader", map[string]string{"token": "t"})
	restCfg, counter := countedConfig()
	direct, err := client.New(restCfg, client.Options{Scheme: localcluster.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	plain, err := pod.NewPodScrapingSource(context.Background(), direct, f.config())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(plain.Close)
	withSecretCfg := f.config()
	withSecretCfg.MetricsReaderSecretName = "reader"
	withSecret, err := pod.NewPodScrapingSource(context.Background(), direct, withSecretCfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(withSecret.Close)

	mustRefresh(t, plain) // the client's one-time API discovery (GET /api, /apis) happens here
	counter.take()
	mustRefresh(t, plain)
	if got := counter.take(); len(got) != 2 {
		t.Fatalf("API requests for a refresh of 5 pods: got %d %v, want 2 (get service, list pods)", len(got), got)
	}
	mustRefresh(t, withSecret)
	if got := counter.take(); len(got) != 3 {
		t.Fatalf("API requests with a token Secret: got %d %v, want 3", len(got), got)
	}
}

func TestAPIRequestsCachedClientNoneOnceSynced(t *testing.T) {
	t.Parallel()
	f := fivePods(t)
	restCfg, counter := countedConfig()
	informers, err := cache.New(restCfg, cache.Options{
		Scheme:            localcluster.Scheme(),
		DefaultNamespaces: map[string]cache.Config{f.ns: {}},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- informers.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	if !informers.WaitForCacheSync(ctx) {
		t.Fatal("cache did not sync")
	}
	s, err := pod.NewPodScrapingSource(ctx, informers, f.config())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)

	r := mustRefresh(t, s) // starts the Service and Pod informers
	if got := len(upByPod(r)); got != 5 {
		t.Fatalf("pods scraped through the cache: got %d, want 5", got)
	}
	counter.take()
	for range 3 {
		mustRefresh(t, s)
	}
	if got := counter.take(); len(got) != 0 {
		t.Fatalf("API requests for 3 refreshes once synced: got %v, want none", got)
	}
}
