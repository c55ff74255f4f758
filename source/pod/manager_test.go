package pod

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
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
		"does not watch namespace "+other.ServiceNamespace+" for services", "cache.Options.DefaultNamespaces", "mgr.GetAPIReader()")
	secret := watched
	secret.MetricsReaderSecretName, secret.MetricsReaderSecretNamespace = "token", other.ServiceNamespace
	secret.SecretReader = mgr.GetClient()
	check("a Secret in a namespace the cache does not watch", refresh(secret),
		"read metrics reader secret "+other.ServiceNamespace+"/token",
		"does not watch namespace "+other.ServiceNamespace+" for secrets", "cache.Options.DefaultNamespaces", "SecretReader: mgr.GetAPIReader()")

	byObject := newManager(t, cache.Options{ByObject: map[client.Object]cache.ByObject{
		&corev1.Pod{}: {Namespaces: map[string]cache.Config{other.ServiceNamespace: {}}},
	}})
	startManager(t, byObject)
	s, err := NewPodScrapingSource(t.Context(), byObject.GetClient(), watched)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, err = s.Refresh(t.Context(), source.RefreshSpec{})
	check("pods in a namespace the cache's ByObject does not watch", err,
		"list pods of service "+watched.ServiceNamespace+"/pod",
		"does not watch namespace "+watched.ServiceNamespace, "ByObject[&corev1.Pod{}].Namespaces")

	strict := newManager(t, cache.Options{ReaderFailOnMissingInformer: true})
	startManager(t, strict)
	s, err = NewPodScrapingSource(t.Context(), strict.GetClient(), watched)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, err = s.Refresh(t.Context(), source.RefreshSpec{})
	check("a cache that starts no informer on a read", err,
		"get service "+watched.ServiceNamespace+"/pod", "ReaderFailOnMissingInformer", "GetInformer")
}

// serviceSeries counts the series in reg labelled service=key, and returns the value of
// the one called name among them (0 when it has none).
func serviceSeries(t *testing.T, reg *prometheus.Registry, key, name string) (series int, value float64) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() != "service" || l.GetValue() != key {
					continue
				}
				series++
				if mf.GetName() == name {
					value = m.GetCounter().GetValue() + m.GetGauge().GetValue()
				}
			}
		}
	}
	return series, value
}

// TestReplacementSourceSharesTheServicesMetrics: a controller registers its sources'
// metrics on its manager's registry (controller-runtime's metrics.Registry) and
// rebuilds a source when its object changes in the order source.SourceRegistry.Update
// documents: the new source built, Update, then the one replaced closed, so that a
// config the library refuses leaves the old one serving. The new source of the same
// Service on the same Registerer was refused ("duplicate metrics collector registration
// attempted") as long as the old one lived, so the rebuild failed at every reconcile, for
// ever; so did a second controller's source of the same Service. Now the sources of one
// Service on one Registerer share its metrics: the counters go on across a rebuild (no
// reset for rate() to read), each source's scrapes count, the Service's series stay
// while one of its sources lives and are gone from the registry when the last is
// closed, and closing a source twice takes nothing from the others.
func TestReplacementSourceSharesTheServicesMetrics(t *testing.T) {
	cfg := startHandlerPod(t, http.HandlerFunc(okPod))
	key := cfg.ServiceNamespace + "/" + cfg.ServiceName
	mgr := newManager(t, cache.Options{DefaultNamespaces: map[string]cache.Config{cfg.ServiceNamespace: {}}})
	startManager(t, mgr)
	reg := prometheus.NewRegistry()
	cfg.Registerer = reg
	cfg.ScrapeInterval, cfg.HistoryRetention = time.Hour, 2*time.Hour // each loop scrapes once, at its start
	registry := source.NewSourceRegistry()
	build := func() *PodScrapingSource {
		t.Helper()
		s, err := NewPodScrapingSource(t.Context(), mgr.GetClient(), cfg)
		if err != nil {
			t.Fatalf("a source of %s while another lives on the Registerer: %v", key, err)
		}
		if err := mgr.Add(s); err != nil { // its loop, run by the manager
			t.Fatal(err)
		}
		if _, err := s.Refresh(t.Context(), source.RefreshSpec{}); err != nil {
			t.Fatal(err)
		}
		return s
	}

	old := build()
	_, scraped := serviceSeries(t, reg, key, "podscrape_samples_scraped_total")
	for round := range 5 {
		replacement := build()
		if err := registry.Update("pods", replacement); err != nil {
			t.Fatal(err)
		}
		old.Close()
		old.Close() // a deferred Close after an explicit one
		series, now := serviceSeries(t, reg, key, "podscrape_samples_scraped_total")
		if series == 0 {
			t.Fatalf("round %d: no series of %s once the replaced source was closed", round, key)
		}
		if now <= scraped {
			t.Fatalf("round %d: podscrape_samples_scraped_total went from %v to %v across the rebuild, want it to go on growing", round, scraped, now)
		}
		scraped, old = now, replacement
	}
	if _, ready := serviceSeries(t, reg, key, "podscrape_pods_ready"); ready != 1 {
		t.Fatalf("podscrape_pods_ready: got %v, want 1", ready)
	}

	// A second controller's source of the same Service, both living.
	second := build()
	_, both := serviceSeries(t, reg, key, "podscrape_samples_scraped_total")
	if both <= scraped {
		t.Fatalf("podscrape_samples_scraped_total: %v after the second source's scrapes, want over %v", both, scraped)
	}
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) != 0 {
		t.Fatalf("lint: %v %v", problems, err)
	}
	old.Close()
	if series, _ := serviceSeries(t, reg, key, "podscrape_pods_ready"); series == 0 {
		t.Fatalf("no series of %s once one of its two sources was closed", key)
	}
	second.Close()
	if series, _ := serviceSeries(t, reg, key, ""); series != 0 {
		t.Fatalf("%d series of %s left once its last source was closed, want none", series, key)
	}
	last, err := NewPodScrapingSource(t.Context(), mgr.GetClient(), cfg)
	if err != nil {
		t.Fatalf("a source of %s after every other was closed: %v", key, err)
	}
	last.Close()
}

// TestSourcesOfOneServiceComeAndGoAtOnce: reconciles of several controllers create and
// close sources of one Service on one Registerer at the same time, while it is
// gathered. Each creation succeeds, every source's metrics are exported while it lives,
// and none are left once all are closed. Run with -race.
func TestSourcesOfOneServiceComeAndGoAtOnce(t *testing.T) {
	reg := prometheus.NewRegistry()
	cfg := PodScrapingSourceConfig{ServiceName: "svc", ServiceNamespace: "churn", MetricsPort: 9090, Registerer: reg}
	const workers, rounds = 4, 50
	errs := make(chan error, workers)
	stop := make(chan struct{})
	gathered := make(chan struct{})
	go func() {
		defer close(gathered)
		for {
			select {
			case <-stop:
				return
			default:
				_, _ = reg.Gather()
			}
		}
	}()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range rounds {
				s, err := NewPodScrapingSource(t.Context(), cp.Client, cfg)
				if err != nil {
					errs <- err
					return
				}
				s.metrics.observePods(1, 1)
				mfs, err := reg.Gather()
				if err != nil || len(mfs) == 0 {
					errs <- fmt.Errorf("a live source's metrics: %d families, %v", len(mfs), err)
					s.Close()
					return
				}
				s.Close()
			}
		})
	}
	wg.Wait()
	close(stop)
	<-gathered
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n, err := testutil.GatherAndCount(reg); err != nil || n != 0 {
		t.Fatalf("%d series left once every source was closed (%v), want none", n, err)
	}
}
