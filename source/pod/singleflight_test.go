package pod

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/podscrape/podscrape/internal/localcluster"
	"github.com/podscrape/podscrape/source"
)

// runs numbers the runs of the test, for a namespace of each run's own.
var runs atomic.Int32

func TestRefreshConcurrentCallsShareOneScrape(t *testing.T) {
	ctx := context.Background()
	ns := fmt.Sprintf("singleflight-%d", runs.Add(1)) // unique under -count
	if err := cp.CreateNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	var requests atomic.Int32
	arrived := make(chan struct{}, 1)
	release := make(chan struct{})
	ip := localcluster.NewAddressBlock().Next()
	srv, err := localcluster.Serve(ip, 0, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if requests.Add(1) == 1 {
			arrived <- struct{}{}
		}
		<-release
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = w.Write([]byte("m 1\n"))
	}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	sel := map[string]string{"app": "sf"}
	if err := cp.CreateService(ctx, ns, "sf", sel, int32(srv.Port)); err != nil {
		t.Fatal(err)
	}
	if _, err := cp.CreatePod(ctx, localcluster.PodSpec{Namespace: ns, Name: "p", Labels: sel, IP: ip, Ready: true}); err != nil {
		t.Fatal(err)
	}
	s, err := NewPodScrapingSource(ctx, cp.Client, PodScrapingSourceConfig{ServiceName: "sf", ServiceNamespace: ns, MetricsPort: int32(srv.Port)})
	if err != nil {
		t.Fatal(err)
	}
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	defer s.Close()

	const callers = 5
	results := make([]map[string]*source.MetricResult, callers)
	var wg sync.WaitGroup
	wg.Go(func() { results[0], _ = s.Refresh(ctx, source.RefreshSpec{}) })
	<-arrived
	for i := 1; i < callers; i++ {
		wg.Go(func() { results[i], _ = s.Refresh(ctx, source.RefreshSpec{Queries: []string{AllMetricsQuery}}) })
	}
	deadline := time.Now().Add(10 * time.Second)
	for s.flights.Waiters(AllMetricsQuery) != callers {
		if time.Now().After(deadline) {
			t.Fatalf("waiters: got %d, want %d", s.flights.Waiters(AllMetricsQuery), callers)
		}
		time.Sleep(time.Millisecond) // polling a condition with a deadline
	}
	close(release)
	wg.Wait()

	if n := requests.Load(); n != 1 {
		t.Fatalf("requests for %d concurrent refreshes: got %d, want 1", callers, n)
	}
	for i, r := range results {
		if r == nil || r[AllMetricsQuery] != results[0][AllMetricsQuery] {
			t.Fatalf("caller %d: got %v, want the shared result", i, r)
		}
	}
}
