package parity

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/podscrape/podscrape/internal/localcluster"
	"github.com/podscrape/podscrape/internal/promserver"
	"github.com/podscrape/podscrape/internal/rollouttest"
	"github.com/podscrape/podscrape/source"
	"github.com/podscrape/podscrape/source/pod"
)

// servingPod is a pod's request counter on the wall clock: 2 requests a second from
// from, until until (zero: still serving).
type servingPod struct {
	mu          sync.Mutex
	from, until time.Time
}

const servingRate = 2.0 // requests a second a pod completes

func (p *servingPod) count(at time.Time) float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.from.IsZero() || at.Before(p.from) {
		return 0
	}
	end := at
	if !p.until.IsZero() && p.until.Before(end) {
		end = p.until
	}
	return math.Floor(servingRate * end.Sub(p.from).Seconds())
}

func (p *servingPod) set(from, until time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !from.IsZero() {
		p.from = from
	}
	p.until = until
}

// TestRolloutCountsAsPrometheus: a rolling update of 3 vLLM-like pods (maxSurge 1: a new
// pod Ready, then an old one terminating, still Ready and completing its in-flight
// requests for 3 s, then gone), scraped every second by the real Prometheus server (the
// Ready pods: a terminating pod whose Ready condition is still True among them, as pod
// discovery lists it) and refreshed every second by the library; sum(increase(x[40s]))
// over a window holding the whole rollout, against the requests served. The library
// counts all but what each old pod completed after its last scrape (it skips a pod from
// the refresh that finds it terminating; docs/library.md, During a rollout), and never
// more than were served: no old and new counters double counted, no reset misread.
// Prometheus counts the draining, but finds a new pod up to its discovery's 5 s batching
// late, and extrapolates its counter back half a scrape at most: it read 233 of 276
// where the library read 255 (18 of them drained). Both are logged.
func TestRolloutCountsAsPrometheus(t *testing.T) {
	ctx := context.Background()
	ns := fmt.Sprintf("rollout-%d", time.Now().UnixNano()%1_000_000)
	if err := cp.CreateNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cp.ReleaseTerminating(context.Background(), ns) })
	olds := []string{"vllm-old-0", "vllm-old-1", "vllm-old-2"}
	news := []string{"vllm-new-0", "vllm-new-1", "vllm-new-2"}
	names := append(append([]string(nil), olds...), news...)
	block := localcluster.NewAddressBlock()
	ips := map[string]string{}
	pods := map[string]*servingPod{}
	var list []string
	byIP := map[string]*servingPod{}
	for _, n := range names {
		ips[n] = block.Next()
		pods[n] = &servingPod{}
		list = append(list, ips[n])
		byIP[ips[n]] = pods[n]
	}
	servers, err := localcluster.ServeAll(list, func(ip string) http.Handler {
		p := byIP[ip]
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain; version=0.0.4")
			fmt.Fprintf(w, "# TYPE reqs_total counter\nreqs_total %g\n", p.count(time.Now()))
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, s := range servers {
			_ = s.Close()
		}
	})
	port := servers[0].Port
	sel := map[string]string{"app": "vllm"}
	if err := cp.CreateService(ctx, ns, "vllm", sel, int32(port)); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for _, n := range olds {
		pods[n].set(start, time.Time{})
		mustPod(t, ctx, localcluster.PodSpec{Namespace: ns, Name: n, Labels: sel, IP: ips[n], Ready: true})
	}
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := localcluster.WriteKubeconfig(cp.Config, ns, kubeconfig); err != nil {
		t.Fatal(err)
	}
	prom, err := promserver.Start(ctx, promserver.Options{Config: promserver.PodScrapeConfig(kubeconfig, time.Second,
		promserver.PodJob{Name: "vllm", Namespace: ns, Selector: "app=vllm", Port: port})})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = prom.Stop() })
	src, err := pod.NewPodScrapingSource(ctx, cp.Client, pod.PodScrapingSourceConfig{ServiceName: "vllm", ServiceNamespace: ns, MetricsPort: int32(port)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(src.Close)
	const window = 40 * time.Second
	q := fmt.Sprintf("sum(increase(reqs_total[%s]))", model.Duration(window))
	src.QueryList().MustRegister(source.QueryTemplate{Name: "count", Type: source.QueryTypePromQL, Template: q})

	// The library refreshes every second, as Prometheus scrapes.
	refreshCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			_, _ = src.Refresh(refreshCtx, source.RefreshSpec{})
			select {
			case <-refreshCtx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	t.Cleanup(func() { stop(); <-done })
	waitScraped(t, ctx, prom, time.Now(), len(olds))

	pause := func(d time.Duration) {
		select {
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		case <-time.After(d): // the rollout's pace, on the wall clock both scrapers read
		}
	}
	pause(8 * time.Second)
	const drain = 3 * time.Second
	for k := range olds {
		pods[news[k]].set(time.Now(), time.Time{})
		mustPod(t, ctx, localcluster.PodSpec{Namespace: ns, Name: news[k], Labels: sel, IP: ips[news[k]], Ready: true})
		pause(3 * time.Second)
		// The old pod terminating: deleted, held by a finalizer, still Ready, completing
		// its in-flight requests for drain.
		pods[olds[k]].set(time.Time{}, time.Now().Add(drain))
		if err := rollouttest.Drain(ctx, cp.Client, ns, olds[k]); err != nil {
			t.Fatal(err)
		}
		pause(drain + time.Second)
		if err := rollouttest.Release(ctx, cp.Client, ns, olds[k]); err != nil {
			t.Fatal(err)
		}
	}
	pause(5 * time.Second)
	rs, err := src.Refresh(ctx, source.RefreshSpec{Queries: []string{"count"}})
	if err != nil {
		t.Fatal(err)
	}
	r := rs["count"]
	at := r.CollectedAt
	if r.Error != nil || len(r.Values) != 1 {
		t.Fatalf("library: %d values, Error %v", len(r.Values), r.Error)
	}
	waitScraped(t, ctx, prom, at, len(news))
	v, _, _, err := prom.API.Query(ctx, q, at)
	if err != nil {
		t.Fatal(err)
	}
	theirs := theirs(v)["{}"]
	ours := r.Values[0].Value
	truth := 0.0
	for _, p := range pods {
		truth += p.count(at) - p.count(at.Add(-window))
	}
	drained := float64(len(olds)) * servingRate * drain.Seconds()
	t.Logf("sum(increase[%s]) over the rollout: library %.1f, Prometheus %.1f, served %.0f (%.0f of them by the old pods while terminating)", window, ours, theirs, truth, drained)
	if math.Abs(theirs-truth) > 0.25*truth {
		t.Errorf("Prometheus: %.1f, want the %.0f requests served, within 25%% (its discovery's lag)", theirs, truth)
	}
	// Each pod's last second may be unscraped when the window is read.
	if unscraped := float64(len(names)) * servingRate; ours > truth+unscraped || ours < truth-drained-2*unscraped {
		t.Errorf("library: %.1f, want the %.0f served less at most the %.0f drained, within %.0f", ours, truth, drained, 2*unscraped)
	}
}
