package pod

import (
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/podscrape/podscrape/internal/leakcheck"
	"github.com/podscrape/podscrape/internal/localcluster"
	"github.com/podscrape/podscrape/source"
)

// twoPortPod serves one Ready pod behind the Service "vllm" of a namespace of its own on
// two ports, each answering queue{port="<port>"} 3 through its handler, and returns the
// source configs of each port (the Service's own port is the first).
func twoPortPod(t *testing.T, handler func(port string, w http.ResponseWriter, r *http.Request)) (a, b PodScrapingSourceConfig) {
	t.Helper()
	ctx := t.Context()
	ns := fmt.Sprintf("replace-%d", runs.Add(1))
	if err := cp.CreateNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	ip := localcluster.NewAddressBlock().Next()
	serve := func(port string) int32 {
		srv, err := localcluster.Serve(ip, 0, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			handler(port, w, r)
		}))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = srv.Close() })
		return int32(srv.Port)
	}
	pa, pb := serve("a"), serve("b")
	sel := map[string]string{"app": "vllm"}
	if err := cp.CreateService(ctx, ns, "vllm", sel, pa); err != nil {
		t.Fatal(err)
	}
	if _, err := cp.CreatePod(ctx, localcluster.PodSpec{Namespace: ns, Name: "vllm-0", Labels: sel, IP: ip, Ready: true}); err != nil {
		t.Fatal(err)
	}
	a = PodScrapingSourceConfig{ServiceName: "vllm", ServiceNamespace: ns, MetricsPort: pa}
	b = a
	b.MetricsPort = pb
	return a, b
}

// answerQueue writes queue{port="<port>"} 3.
func answerQueue(port string, w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	_, _ = fmt.Fprintf(w, "# TYPE queue gauge\nqueue{port=%q} 3\n", port)
}

// failures returns podscrape_scrape_failures_total of service key in reg, by reason.
func failures(t *testing.T, reg *prometheus.Registry, key string) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != "podscrape_scrape_failures_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["service"] == key {
				out[labels["reason"]] = m.GetCounter().GetValue()
			}
		}
	}
	return out
}

// TestReplacedSourceCountsNoFailureInItsReplacementsMetrics: a controller rebuilds a
// variant's source when its config changes (here its metrics port), in the order
// SourceRegistry.Update documents: the new source built, Update, the old one closed.
// Close cancels the old source's loop scrape in progress, and that scrape, cut by Close,
// was counted in podscrape_scrape_failures_total{reason="canceled"} of the Service's
// metrics, which the replacement shares and goes on with: every rebuild of a variant
// whose loop was scraping (a slow pod, a scrape of many) showed a failure that never
// happened to an alert on the Service's failures. A closed source's loop writes nothing
// to its Service's metrics.
func TestReplacedSourceCountsNoFailureInItsReplacementsMetrics(t *testing.T) {
	release := make(chan struct{})
	var releasing sync.Once
	free := func() { releasing.Do(func() { close(release) }) }
	entered := make(chan struct{}, 1)
	a, b := twoPortPod(t, func(port string, w http.ResponseWriter, r *http.Request) {
		if port == "a" {
			select {
			case entered <- struct{}{}:
			default:
			}
			select {
			case <-release:
			case <-r.Context().Done():
				return
			}
		}
		answerQueue(port, w)
	})
	t.Cleanup(free)
	reg := prometheus.NewRegistry()
	key := a.ServiceNamespace + "/" + a.ServiceName
	build := func(cfg PodScrapingSourceConfig) *PodScrapingSource {
		t.Helper()
		cfg.Registerer, cfg.ScrapeInterval, cfg.HistoryRetention = reg, time.Hour, 2*time.Hour
		s, err := NewPodScrapingSource(t.Context(), cp.Client, cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Close)
		s.QueryList().MustRegister(source.QueryTemplate{Name: "queue", Type: source.QueryTypeMetricName, Template: "queue"})
		return s
	}
	registry := source.NewSourceRegistry()
	old := build(a)
	registry.MustRegister("variant-1", old)
	started := make(chan error, 1)
	go func() { started <- old.Start(t.Context()) }()
	<-entered // the old source's loop scrape waits for the pod

	replacement := build(b)
	if err := registry.Update("variant-1", replacement); err != nil {
		t.Fatal(err)
	}
	old.Close()
	if err := <-started; err != nil {
		t.Fatalf("Start of the closed source: %v", err)
	}
	for reason, n := range failures(t, reg, key) {
		if n != 0 {
			t.Errorf("podscrape_scrape_failures_total{service=%q,reason=%q} %v after the rebuild, want 0: no scrape failed", key, reason, n)
		}
	}
	rs, err := registry.Get("variant-1").Refresh(t.Context(), source.RefreshSpec{Queries: []string{"queue"}})
	if err != nil {
		t.Fatal(err)
	}
	if v := rs["queue"].Values; len(v) == 0 || v[0].Labels["port"] != "b" {
		t.Errorf("the replacement's queue: %v, want the sample of port b", v)
	}
}

// TestVariantChurnNeverMixesSources: a variant's source is rebuilt again and again (its
// port changing at each reconcile, in SourceRegistry.Update's order), sometimes removed
// and added back under its name, while readers Refresh and Get whatever source the
// registry holds for it at that moment, closed or not. Every answer is one source's: a
// metric-name result holds one port's sample, sum(queue) over one source's history is
// 3 (two sources' scrapes in one history would make it 6), and no read fails. Once the
// last source is closed, nothing of them is left running and the Service's metrics are
// gone from the Registerer.
func TestVariantChurnNeverMixesSources(t *testing.T) {
	a, b := twoPortPod(t, func(port string, w http.ResponseWriter, _ *http.Request) { answerQueue(port, w) })
	reg := prometheus.NewRegistry()
	key := a.ServiceNamespace + "/" + a.ServiceName
	base := leakcheck.Take()
	build := func(cfg PodScrapingSourceConfig) *PodScrapingSource {
		t.Helper()
		cfg.Registerer, cfg.ScrapeInterval = reg, 20*time.Millisecond
		s, err := NewPodScrapingSource(t.Context(), cp.Client, cfg)
		if err != nil {
			t.Fatal(err)
		}
		s.QueryList().MustRegister(source.QueryTemplate{Name: "queue", Type: source.QueryTypeMetricName, Template: "queue"})
		s.QueryList().MustRegister(source.QueryTemplate{Name: "load", Type: source.QueryTypePromQL, Template: "sum(queue)"})
		return s
	}
	var loops sync.WaitGroup
	run := func(s *PodScrapingSource) {
		loops.Go(func() {
			if err := s.Start(t.Context()); err != nil {
				t.Errorf("Start: %v", err)
			}
		})
	}
	registry := source.NewSourceRegistry()
	current := build(a)
	run(current)
	registry.MustRegister("variant-1", current)

	stop := make(chan struct{})
	var readers sync.WaitGroup
	var reads atomic.Int64
	for range 4 {
		readers.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				s := registry.Get("variant-1")
				if s == nil {
					continue // removed for now
				}
				rs, err := s.Refresh(t.Context(), source.RefreshSpec{Queries: []string{"queue", "load"}})
				if err != nil {
					t.Errorf("Refresh: %v", err)
					return
				}
				reads.Add(1)
				if v := rs["queue"].Values; len(v) != 2 || v[0].Labels["port"] == "" {
					t.Errorf("queue: %v, want one port's sample and the pod's up", v)
					return
				}
				if got := rs["load"].FirstValue().Value; got != 3 || rs["load"].Error != nil {
					t.Errorf("sum(queue): %v (%v), want 3: one source's pod", got, rs["load"].Error)
					return
				}
				if c := s.Get("queue", nil); c != nil && len(c.Result.Values) != 2 {
					t.Errorf("Get(queue): %v, want one port's sample and the pod's up", c.Result.Values)
					return
				}
			}
		})
	}
	for round := range 20 {
		cfg := a
		if round%2 == 0 {
			cfg = b
		}
		next := build(cfg)
		run(next)
		if round%5 == 4 { // removed, closed, added back under its name
			if err := registry.Unregister("variant-1"); err != nil {
				t.Fatal(err)
			}
			current.Close()
			registry.MustRegister("variant-1", next)
		} else {
			if err := registry.Update("variant-1", next); err != nil {
				t.Fatal(err)
			}
			current.Close()
		}
		current = next
		want := reads.Load() + 4
		deadline := time.Now().Add(10 * time.Second)
		for reads.Load() < want && !t.Failed() {
			if time.Now().After(deadline) {
				t.Fatalf("round %d: the readers answered %d reads in 10s, want 4", round, reads.Load()-want+4)
			}
			time.Sleep(time.Millisecond) // polling the readers' progress, with a deadline
		}
	}
	close(stop)
	readers.Wait()
	current.Close()
	loops.Wait()
	if n, _ := serviceSeries(t, reg, key, ""); n != 0 {
		t.Errorf("%d series of %s left on the Registerer once its last source closed", n, key)
	}
	leakcheck.Back(t, base, 1, 10*time.Second)
}
