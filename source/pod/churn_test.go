package pod

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/podscrape/podscrape/internal/localcluster"
)

// cacheEntries returns how many series entries the series caches of ScrapeSeries hold,
// over every pod, and how many pods they hold.
func (c *seriesCaches) cacheEntries() (entries, pods int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, sc := range c.byPod {
		entries += len(sc.entries)
	}
	return entries, len(c.byPod)
}

// A pod whose series carry a label value new at every scrape (a request id), and whose
// scrapes fail after much of the exposition was read (over SampleLimit, as such a pod
// soon is; a body over MaxBodyBytes; a parse error at the end), must not grow its series
// cache with every scrape: as Prometheus' scrape cache, it is flushed once it holds more
// than twice what the last successful scrape left, plus 1000.
func TestFailedScrapesKeepTheSeriesCacheBounded(t *testing.T) {
	const series, limit = 600, 500
	for _, tc := range []struct {
		name string
		cfg  func(*PodScrapingSourceConfig)
		tail string // appended to every exposition
		want error
	}{
		{"over the sample limit", func(c *PodScrapingSourceConfig) { c.SampleLimit = limit }, "", ErrSampleLimit},
		{"a parse error at the end", nil, "not an exposition{\n", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			ns := fmt.Sprintf("churn-fail-%d", runs.Add(1))
			if err := cp.CreateNamespace(ctx, ns); err != nil {
				t.Fatal(err)
			}
			var scrapes atomic.Int64
			ip := localcluster.NewAddressBlock().Next()
			srv, err := localcluster.Serve(ip, 0, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				n := scrapes.Add(1)
				w.Header().Set("Content-Type", "text/plain; version=0.0.4")
				var b strings.Builder
				for i := range series {
					fmt.Fprintf(&b, "inflight{request_id=\"%d-%d\"} 1\n", n, i)
				}
				b.WriteString(tc.tail)
				_, _ = w.Write([]byte(b.String()))
			}))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = srv.Close() })
			sel := map[string]string{"app": "churn"}
			if err := cp.CreateService(ctx, ns, "churn", sel, int32(srv.Port)); err != nil {
				t.Fatal(err)
			}
			if _, err := cp.CreatePod(ctx, localcluster.PodSpec{Namespace: ns, Name: "p", Labels: sel, IP: ip, Ready: true}); err != nil {
				t.Fatal(err)
			}
			cfg := PodScrapingSourceConfig{ServiceName: "churn", ServiceNamespace: ns, MetricsPort: int32(srv.Port),
				Clock: clocktesting.NewFakePassiveClock(t0)}
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			s, err := NewPodScrapingSource(ctx, cp.Client, cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(s.Close)
			most := 0
			for range 20 {
				pods, err := s.ScrapeSeries(ctx, labels.Label{Name: "job", Value: "churn"})
				if err != nil {
					t.Fatal(err)
				}
				if len(pods) != 1 || pods[0].Up || (tc.want != nil && !errors.Is(pods[0].Err, tc.want)) {
					t.Fatalf("got %d pods, the first up %v with error %v; want one failing with %v", len(pods), pods[0].Up, pods[0].Err, tc.want)
				}
				entries, _ := s.seriesCaches.cacheEntries()
				most = max(most, entries)
			}
			if bound := 2*series + 1000; most > bound {
				t.Errorf("the failing pod's series cache held up to %d entries over 20 scrapes, want at most %d", most, bound)
			}
		})
	}
}
