package pod

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/podscrape/podscrape/internal/localcluster"
	"github.com/podscrape/podscrape/source"
)

// newManager returns a controller-runtime manager on the test control plane, as a
// controller embedding sources builds it: no metrics or health listener, its cache
// configured by opts. It is not started (see startManager).
func newManager(t *testing.T, opts cache.Options) manager.Manager {
	t.Helper()
	opts.Scheme = localcluster.Scheme()
	mgr, err := manager.New(cp.Config, manager.Options{
		Scheme:                 localcluster.Scheme(),
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Cache:                  opts,
	})
	if err != nil {
		t.Fatal(err)
	}
	return mgr
}

// startManager starts mgr until the test ends (its Start must then return nil) and waits
// until its cache has started.
func startManager(t *testing.T, mgr manager.Manager) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("manager: %v", err)
		}
	})
	if !mgr.GetCache().WaitForCacheSync(t.Context()) {
		t.Fatal("the manager's cache did not start")
	}
}

// okPod answers one gauge, g 2.
func okPod(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	_, _ = w.Write([]byte("g 2\n"))
}

// TestManagerCacheRefusalsSayWhatToConfigure: a controller hands its sources the
// manager's cached client. The cache refuses a read it cannot serve at once, with an
// error of its own naming neither the Service nor what to change: a Service (or token
// Secret) in a namespace the cache does not watch (cache.Options.DefaultNamespaces)
// failed every Refresh with "unable to get: ns/name because of unknown namespace for the
// cache"; a Refresh before the manager started its cache (an HTTP handler, a goroutine
// started before mgr.Start) with "the cache is not started, can not read objects"; a
// cache with ReaderFailOnMissingInformer with "/v1, Kind=Service is not cached". Each is
// an error (never an empty answer), and now says what to configure.
func TestManagerCacheRefusalsSayWhatToConfigure(t *testing.T) {
	watched := startHandlerPod(t, http.HandlerFunc(okPod))
	other := startHandlerPod(t, http.HandlerFunc(okPod))
	mgr := newManager(t, cache.Options{DefaultNamespaces: map[string]cache.Config{watched.ServiceNamespace: {}}})
	refresh := func(cfg PodScrapingSourceConfig) error {
		t.Helper()
		s, err := NewPodScrapingSource(t.Context(), mgr.GetClient(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		r, err := s.Refresh(t.Context(), source.RefreshSpec{})
		if err != nil && r != nil {
			t.Fatalf("Refresh failed with results: %v", r)
		}
		return err
	}
	check := func(what string, err error, want ...string) {
		t.Helper()
		for _, w := range want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%s: got %v, want an error saying %q", what, err, w)
			}
		}
	}

	check("before the manager started", refresh(watched),
		"get service "+watched.ServiceNamespace+"/pod", "the manager's cache is not started yet", "mgr.Start")

	startManager(t, mgr)
	if err := refresh(watched); err != nil {
		t.Fatalf("a Service in a namespace the cache watches: %v", err)
	}
	check("a Service in a namespace the cache does not watch", refresh(other),
		"get service "+other.ServiceNamespace+"/pod",
		"does not watch namespace "+other.ServiceNamespace, "cache.Options.DefaultNamespaces", "mgr.GetAPIReader()")
	secret := watched
	secret.MetricsReaderSecretName, secret.MetricsReaderSecretNamespace = "token", other.ServiceNamespace
	secret.SecretReader = mgr.GetClient()
	check("a Secret in a namespace the cache does not watch", refresh(secret),
		"read metrics reader secret "+other.ServiceNamespace+"/token",
		"does not watch namespace "+other.ServiceNamespace, "cache.Options.DefaultNamespaces", "SecretReader: mgr.GetAPIReader()")

	strict := newManager(t, cache.Options{ReaderFailOnMissingInformer: true})
	startManager(t, strict)
	s, err := NewPodScrapingSource(t.Context(), strict.GetClient(), watched)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, err = s.Refresh(t.Context(), source.RefreshSpec{})
	check("a cache that starts no informer on a read", err,
		"get service "+watched.ServiceNamespace+"/pod", "ReaderFailOnMissingInformer", "GetInformer")
}
