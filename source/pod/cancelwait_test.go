package pod

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/podscrape/podscrape/internal/localcluster"
	"github.com/podscrape/podscrape/source"
)

// TestCancelledRefreshReturnsAfterEveryScrapeItStarted holds DESIGN's "no goroutine
// outlives Refresh" where a caller's context ends while pods still wait for a request
// slot: Refresh returns only once every scrape it started has ended, so it holds no slot
// of MaxConcurrentScrapes (a slot is given back when its scrape's goroutine ends) and no
// scrape writes its pod's outcome after Refresh went on without it (a data race under
// -race). Before, the pods not yet started were marked cancelled and Refresh returned
// at once; the scrapes in flight ended later. Twenty hung pods hold the twenty slots,
// a twenty-first waits for one.
func TestCancelledRefreshReturnsAfterEveryScrapeItStarted(t *testing.T) {
	ctx := context.Background()
	ns := fmt.Sprintf("cancelwait-%d", runs.Add(1)) // unique under -count
	if err := cp.CreateNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	const inFlight = 20
	arrived := make(chan struct{}, inFlight+1)
	block := localcluster.NewAddressBlock()
	ips := make([]string, inFlight+1)
	for i := range ips {
		ips[i] = block.Next()
	}
	servers, err := localcluster.ServeAll(ips, func(string) http.Handler {
		return http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
			arrived <- struct{}{}
			<-r.Context().Done()
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, srv := range servers {
		t.Cleanup(func() { _ = srv.Close() })
	}
	sel := map[string]string{"app": "cancelwait"}
	port := int32(servers[0].Port)
	if err := cp.CreateService(ctx, ns, "svc", sel, port); err != nil {
		t.Fatal(err)
	}
	for i, ip := range ips {
		// In name order: the pods scraped first hold the slots, the last one waits.
		if _, err := cp.CreatePod(ctx, localcluster.PodSpec{Namespace: ns, Name: fmt.Sprintf("p%02d", i), Labels: sel, IP: ip, Ready: true}); err != nil {
			t.Fatal(err)
		}
	}
	s, err := NewPodScrapingSource(ctx, cp.Client, PodScrapingSourceConfig{
		ServiceName: "svc", ServiceNamespace: ns, MetricsPort: port,
		ScrapeTimeout: time.Hour, MaxConcurrentScrapes: inFlight,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)

	refreshCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		_, err := s.Refresh(refreshCtx, source.RefreshSpec{})
		done <- err
	}()
	for range inFlight {
		select {
		case <-arrived:
		case <-time.After(30 * time.Second):
			t.Fatalf("the %d hung pods did not all get a request within 30s", inFlight)
		}
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Refresh: got %v, want context.Canceled", err)
	}
	if held := len(s.slots); held != 0 {
		t.Fatalf("request slots held when Refresh returned: got %d, want 0 (a scrape outlived its Refresh)", held)
	}
	select {
	case <-arrived:
		t.Fatalf("the pod waiting for a slot got a request after its refresh was cancelled")
	default:
	}
}
