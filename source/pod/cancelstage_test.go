package pod

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/podscrape/podscrape/internal/localcluster"
	"github.com/podscrape/podscrape/source"
)

// startHungAndHealthyPods starts, behind one Service of a namespace of its own, a pod
// "healthy" that answers and a pod "hung" that accepts the request and answers nothing
// until the scraper gives up; arrived gets a send when the hung pod has a request. It
// returns a source config with a ScrapeTimeout of an hour: the caller's context ends
// first.
func startHungAndHealthyPods(t *testing.T) (PodScrapingSourceConfig, <-chan struct{}) {
	t.Helper()
	ctx := context.Background()
	ns := fmt.Sprintf("hung-%d", runs.Add(1)) // unique under -count
	if err := cp.CreateNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	arrived := make(chan struct{}, 100)
	block := localcluster.NewAddressBlock()
	healthyIP, hungIP := block.Next(), block.Next()
	healthy, err := localcluster.Serve(healthyIP, 0, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = w.Write([]byte("m 1\n"))
	}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = healthy.Close() })
	hung, err := localcluster.Serve(hungIP, healthy.Port, http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-r.Context().Done()
	}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = hung.Close() })
	sel := map[string]string{"app": "hung"}
	if err := cp.CreateService(ctx, ns, "svc", sel, int32(healthy.Port)); err != nil {
		t.Fatal(err)
	}
	for name, ip := range map[string]string{"healthy": healthyIP, "hung": hungIP} {
		if _, err := cp.CreatePod(ctx, localcluster.PodSpec{Namespace: ns, Name: name, Labels: sel, IP: ip, Ready: true}); err != nil {
			t.Fatal(err)
		}
	}
	return PodScrapingSourceConfig{ServiceName: "svc", ServiceNamespace: ns, MetricsPort: int32(healthy.Port), ScrapeTimeout: time.Hour}, arrived
}

// TestCallerEndingNamesThePodsItWaitedFor: a caller whose context ends while a pod has
// not answered (its deadline shorter than ScrapeTimeout) gets the context's error and no
// results, as documented; the error names the pod it was waiting for, and not the one
// that answered, for Refresh and ScrapeSeries alike: "context deadline exceeded" alone
// leaves an operator no way to find the hung pod that fails every reconcile.
func TestCallerEndingNamesThePodsItWaitedFor(t *testing.T) {
	cfg, arrived := startHungAndHealthyPods(t)
	// One at a time, pods in name order: when the hung pod has its request, the healthy
	// one's scrape has ended.
	cfg.MaxConcurrentScrapes = 1
	s, err := NewPodScrapingSource(t.Context(), cp.Client, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	hungKey, healthyKey := cfg.ServiceNamespace+"/hung", cfg.ServiceNamespace+"/healthy"
	check := func(what string, call func(context.Context) error) {
		t.Helper()
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- call(ctx) }()
		select {
		case <-arrived:
		case <-time.After(30 * time.Second):
			t.Fatalf("%s: the hung pod got no request within 30s", what)
		}
		cancel()
		err := <-done
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("%s: %v, want context.Canceled", what, err)
		}
		if !strings.Contains(err.Error(), hungKey) || strings.Contains(err.Error(), healthyKey) {
			t.Errorf("%s: %q, want it to name the pod it waited for, %s, and not %s", what, err, hungKey, healthyKey)
		}
	}
	check("Refresh", func(ctx context.Context) error {
		_, err := s.Refresh(ctx, source.RefreshSpec{})
		return err
	})
	check("ScrapeSeries", func(ctx context.Context) error {
		_, err := s.ScrapeSeries(ctx)
		return err
	})
}

// TestScrapeSeriesWaitingForAnotherEndsWithItsContext: ScrapeSeries calls are serialised;
// one that waits for another in progress (held by a hung pod until its ScrapeTimeout, an
// hour here) still ends when its own context does, with the context's error, instead of
// waiting for the other past its deadline.
func TestScrapeSeriesWaitingForAnotherEndsWithItsContext(t *testing.T) {
	cfg, arrived := startHungAndHealthyPods(t)
	s, err := NewPodScrapingSource(t.Context(), cp.Client, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	first, cancelFirst := context.WithCancel(t.Context())
	defer cancelFirst()
	firstDone := make(chan error, 1)
	go func() {
		_, err := s.ScrapeSeries(first)
		firstDone <- err
	}()
	select {
	case <-arrived:
	case <-time.After(30 * time.Second):
		t.Fatal("the hung pod got no request within 30s")
	}

	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := s.ScrapeSeries(ctx)
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("ScrapeSeries waiting for another: %v, want context.DeadlineExceeded", err)
		}
	case <-time.After(10 * time.Second):
		t.Error("ScrapeSeries with a 50ms deadline still waits for the one in progress after 10s")
		cancelFirst()
		<-done
	}
	cancelFirst()
	<-firstDone
}
