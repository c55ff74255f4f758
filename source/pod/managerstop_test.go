package pod

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/podscrape/podscrape/internal/leakcheck"
	"github.com/podscrape/podscrape/internal/localcluster"
	"github.com/podscrape/podscrape/source"
)

// TestManagerStopEndsRefreshesAndLoops: a controller's manager runs its sources' loops
// (mgr.Add(src)) and refreshes from its Runnables, and stops (SIGTERM) while a pod has
// not answered. The Refresh returns at once with the context's error, naming the pod
// it waited for; the loops return, so the manager stops without waiting out its 30 s
// grace period; nothing of them is left running. A manager hands its Runnables
// manager.Options.BaseContext's context, which carries no logger by default: the loop
// logs a failed scrape (a Service gone) through the logger BaseContext puts there, as
// docs/library.md advises.
func TestManagerStopEndsRefreshesAndLoops(t *testing.T) {
	var hang atomic.Bool
	hung := make(chan struct{}, 100)
	cfg := startHandlerPod(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !hang.Load() {
			okPod(w, r)
			return
		}
		hung <- struct{}{}
		<-r.Context().Done() // answers nothing until the scraper gives up
	}))
	scrapeOnePod(t, cfg) // the API client's connections exist before the baseline
	hang.Store(true)
	base := leakcheck.Take()

	var logMu sync.Mutex
	var logs []string
	logger := funcr.New(func(prefix, args string) {
		logMu.Lock()
		defer logMu.Unlock()
		logs = append(logs, prefix+" "+args)
	}, funcr.Options{})
	mgr, err := manager.New(cp.Config, manager.Options{
		Scheme:                 localcluster.Scheme(),
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Cache:                  cache.Options{DefaultNamespaces: map[string]cache.Config{cfg.ServiceNamespace: {}}},
		BaseContext:            func() context.Context { return logr.NewContext(context.Background(), logger) },
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg.ScrapeInterval = 50 * time.Millisecond
	s, err := NewPodScrapingSource(t.Context(), mgr.GetClient(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.QueryList().MustRegister(source.QueryTemplate{Name: "g", Type: source.QueryTypeMetricName, Template: "g"})
	gone := cfg
	gone.ServiceName = "gone"
	g, err := NewPodScrapingSource(t.Context(), mgr.GetClient(), gone)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	for _, src := range []*PodScrapingSource{s, g} {
		if err := mgr.Add(src); err != nil {
			t.Fatal(err)
		}
	}
	refreshed := make(chan error, 1)
	if err := mgr.Add(manager.RunnableFunc(func(ctx context.Context) error {
		_, err := s.Refresh(ctx, source.RefreshSpec{})
		refreshed <- err
		return nil
	})); err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	stopped := make(chan error, 1)
	go func() { stopped <- mgr.Start(ctx) }()

	deadline := time.Now().Add(30 * time.Second)
	for {
		logMu.Lock()
		logged := strings.Join(logs, "\n")
		logMu.Unlock()
		if strings.Contains(logged, "background scrape failed") && strings.Contains(logged, cfg.ServiceNamespace+"/gone") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the loop of a Service gone logged no failure within 30s through BaseContext's logger:\n%s", logged)
		}
		time.Sleep(5 * time.Millisecond) // polling the log, with a deadline
	}
	select {
	case <-hung: // a scrape waits for the pod
	case <-time.After(30 * time.Second):
		t.Fatal("no scrape reached the hung pod within 30s")
	}

	stop() // SIGTERM
	select {
	case err := <-stopped:
		if err != nil {
			t.Fatalf("manager: %v, want it stopped in time", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the manager has not stopped 10s after its context ended: a loop or a Refresh still runs")
	}
	select {
	case err := <-refreshed:
		if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), cfg.ServiceNamespace+"/p") {
			t.Fatalf("Refresh when the manager stopped: %v, want context.Canceled naming the pod it waited for", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Refresh still runs 10s after the manager stopped")
	}
	s.Close()
	g.Close()
	leakcheck.Back(t, base, 2, 10*time.Second)
}
