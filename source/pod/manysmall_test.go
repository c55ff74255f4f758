package pod

import (
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/cache"

	"github.com/podscrape/podscrape/internal/leakcheck"
	"github.com/podscrape/podscrape/internal/localcluster"
	"github.com/podscrape/podscrape/source"
)

// manyVariants serves variants headless Services of podsEach pods each in a namespace of
// its own (the Service vN, its pods vN-0, vN-1, ...), every pod answering body and calling seen,
// when set, with its Service's name at each request, and returns the namespace and
// their source configs (no clock set).
func manyVariants(t *testing.T, variants, podsEach int, body func(svc string) string, seen func(svc string)) (string, []PodScrapingSourceConfig) {
	t.Helper()
	ctx := t.Context()
	ns := fmt.Sprintf("many-small-%d", runs.Add(1))
	if err := cp.CreateNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	block := localcluster.NewAddressBlock()
	configs := make([]PodScrapingSourceConfig, variants)
	for v := range variants {
		svc := fmt.Sprintf("v%d", v)
		ips := make([]string, podsEach)
		for i := range ips {
			ips[i] = block.Next()
		}
		text := body(svc)
		servers, err := localcluster.ServeAll(ips, func(string) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				if seen != nil {
					seen(svc)
				}
				w.Header().Set("Content-Type", "text/plain; version=0.0.4")
				_, _ = w.Write([]byte(text))
			})
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			for _, srv := range servers {
				_ = srv.Close()
			}
		})
		port := int32(servers[0].Port)
		sel := map[string]string{"app": svc}
		// Headless: a ClusterIP each would take 100 of the 254 of the test API server's
		// range (10.0.0.0/24), which the package's other tests share.
		service := &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: svc},
			Spec: corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone, Selector: sel,
				Ports: []corev1.ServicePort{{Name: "metrics", Port: port, Protocol: corev1.ProtocolTCP}}},
		}
		if err := cp.Client.Create(ctx, service); err != nil {
			t.Fatal(err)
		}
		for i, ip := range ips {
			if _, err := cp.CreatePod(ctx, localcluster.PodSpec{Namespace: ns, Name: fmt.Sprintf("%s-%d", svc, i), Labels: sel, IP: ip, Ready: true}); err != nil {
				t.Fatal(err)
			}
		}
		configs[v] = PodScrapingSourceConfig{ServiceName: svc, ServiceNamespace: ns, MetricsPort: port}
	}
	return ns, configs
}

// variantBody is a small vLLM-like exposition naming its Service, so a result that mixed
// two sources' data would show it.
func variantBody(svc string) string {
	return fmt.Sprintf("# TYPE queue gauge\nqueue{variant=%q} 3\n# TYPE requests counter\nrequests_total{variant=%q} 10\n", svc, svc)
}

// TestManySmallSourcesLeaveNothingOnceClosed: the autoscaler's controller holds one
// source per model variant (100 here, of 2 pods each) in a SourceRegistry, on the
// manager's cached client and Registerer, each with its scrape loop run by the manager
// and PromQL and metric-name queries refreshed. Once every variant is dropped (removed
// from the registry and closed), nothing of them stays: their goroutines have ended,
// every connection to their pods is closed on both ends, no podscrape_ series is left on
// the Registerer, and the live heap is back near where it was before them; while the
// closed sources are still held, they keep little of it.
func TestManySmallSourcesLeaveNothingOnceClosed(t *testing.T) {
	const variants, podsEach = 100, 2
	var requests atomic.Int64
	ns, configs := manyVariants(t, variants, podsEach, variantBody, func(string) { requests.Add(1) })
	mgr := newManager(t, cache.Options{DefaultNamespaces: map[string]cache.Config{ns: {}}})
	startManager(t, mgr)
	reg := prometheus.NewRegistry()
	queries := []source.QueryTemplate{
		{Name: "load", Type: source.QueryTypePromQL, Template: `sum(queue) + sum(rate(requests_total[1m]))`},
		{Name: "queue", Type: source.QueryTypeMetricName, Template: "queue"},
	}
	build := func(cfg PodScrapingSourceConfig) *PodScrapingSource {
		cfg.Registerer = reg
		cfg.ScrapeInterval = 500 * time.Millisecond
		s, err := NewPodScrapingSource(t.Context(), mgr.GetClient(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range queries {
			s.QueryList().MustRegister(q)
		}
		return s
	}
	// The informers, the API client's connections and the pods' listeners exist
	// before the baseline: a warm-up source reads them once.
	warm := build(configs[0])
	mustRefresh(t, warm)
	warm.Close()
	base := leakcheck.Take()
	heapBase := liveHeap()

	registry := source.NewSourceRegistry()
	for _, cfg := range configs {
		s := build(cfg)
		if err := mgr.Add(s); err != nil {
			t.Fatal(err)
		}
		registry.MustRegister(cfg.ServiceName, s)
	}
	// Every loop scrapes its pods at least twice, and each source answers 3 Refreshes.
	deadline := time.Now().Add(60 * time.Second)
	for requests.Load() < 2*variants*podsEach {
		if time.Now().After(deadline) {
			t.Fatalf("the loops made %d requests in 60s, want %d", requests.Load(), 2*variants*podsEach)
		}
		time.Sleep(10 * time.Millisecond) // polling the pods' requests, with a deadline
	}
	for range 3 {
		for _, name := range registry.List() {
			rs, err := registry.Get(name).Refresh(t.Context(), source.RefreshSpec{})
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			for _, v := range rs["queue"].Values {
				if got := v.Labels["variant"]; v.Labels["__name__"] == "queue" && got != name {
					t.Fatalf("%s: a sample of variant %s in its result", name, got)
				}
			}
		}
	}
	held := runtime.NumGoroutine() - base.Goroutines
	heapHeld := int64(liveHeap()) - int64(heapBase)
	t.Logf("%d sources of %d pods: %d goroutines (%.1f each), live heap %d KiB (%.1f KiB each)",
		variants, podsEach, held, float64(held)/variants, heapHeld>>10, float64(heapHeld)/1024/variants)

	var kept []*PodScrapingSource
	for _, name := range registry.List() {
		s := registry.Get(name)
		kept = append(kept, s.(*PodScrapingSource))
		if err := registry.Unregister(name); err != nil {
			t.Fatal(err)
		}
		s.(*PodScrapingSource).Close()
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if strings.HasPrefix(f.GetName(), "podscrape_") {
			t.Errorf("%s still on the Registerer (%d series) once every source is closed", f.GetName(), len(f.GetMetric()))
		}
	}
	leakcheck.Back(t, base, 5, 10*time.Second)
	// A closed source may still be held (a handler that got it before the rebuild): it
	// keeps no more than its cached results and label strings, not its parsers'
	// buffers nor its history's query engine.
	if closedHeld := int64(liveHeap()) - int64(heapBase); closedHeld > variants*100<<10 {
		t.Errorf("live heap %d KiB over its baseline with every source closed but still held (%.1f KiB each), want under 100 KiB each (%d KiB while they ran)",
			closedHeld>>10, float64(closedHeld)/1024/variants, heapHeld>>10)
	}
	runtime.KeepAlive(kept)
	kept = nil
	registry = nil
	// The bound leaves room for the API client's and the manager's own allocations
	// meanwhile; one object of 40 KB kept per source would pass it.
	if after := int64(liveHeap()) - int64(heapBase); after > 4<<20 {
		t.Errorf("live heap %d KiB over its baseline once every source is closed and dropped, want under 4 MiB (%d KiB while they ran)",
			after>>10, heapHeld>>10)
	}
}

// TestHungVariantDelaysNoOtherVariant: one variant's pod stops answering (it holds every
// request until released; its ScrapeTimeout is 30 s) beside healthy variants, all on
// one manager's cached client and Registerer, each with its loop run by the manager.
// While the hung variant's loop scrape and a Refresh of it wait for its pod, every
// healthy variant's loop keeps scraping at its interval (5 scrapes each, none more than
// 5 s after the one before, where waiting on the hung variant would take 30 s), and the
// healthy variants' Refresh and Get answer: nothing shared serialises the sources.
func TestHungVariantDelaysNoOtherVariant(t *testing.T) {
	const healthy, interval = 5, 100 * time.Millisecond
	release := make(chan struct{})
	entered := make(chan struct{}, 2)
	hungCfg := startHandlerPod(t, http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		select {
		case entered <- struct{}{}:
		default:
		}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	var releasing sync.Once
	free := func() { releasing.Do(func() { close(release) }) }
	t.Cleanup(free)   // before the pod's server closes, also when the test fails
	var mu sync.Mutex // protects scrapes
	scrapes := map[string][]time.Time{}
	ns, configs := manyVariants(t, healthy, 1, variantBody, func(svc string) {
		mu.Lock()
		defer mu.Unlock()
		scrapes[svc] = append(scrapes[svc], time.Now())
	})
	mgr := newManager(t, cache.Options{DefaultNamespaces: map[string]cache.Config{ns: {}, hungCfg.ServiceNamespace: {}}})
	startManager(t, mgr)
	reg := prometheus.NewRegistry()
	start := func(cfg PodScrapingSourceConfig) *PodScrapingSource {
		cfg.Registerer, cfg.ScrapeInterval = reg, interval
		s, err := NewPodScrapingSource(t.Context(), mgr.GetClient(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Close)
		s.QueryList().MustRegister(source.QueryTemplate{Name: "load", Type: source.QueryTypePromQL, Template: `sum(queue)`})
		s.QueryList().MustRegister(source.QueryTemplate{Name: "queue", Type: source.QueryTypeMetricName, Template: "queue"})
		if err := mgr.Add(s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	hungCfg.ScrapeTimeout = 30 * time.Second
	hung := start(hungCfg)
	hungRefresh := make(chan error, 1)
	go func() {
		_, err := hung.Refresh(t.Context(), source.RefreshSpec{})
		hungRefresh <- err
	}()
	<-entered // the hung variant's Refresh waits for its pod from here until released
	mu.Lock()
	clear(scrapes)
	mu.Unlock()
	sources := make([]*PodScrapingSource, 0, healthy)
	for _, cfg := range configs {
		sources = append(sources, start(cfg))
	}

	deadline := time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		least := len(scrapes[configs[0].ServiceName])
		for _, cfg := range configs {
			least = min(least, len(scrapes[cfg.ServiceName]))
		}
		mu.Unlock()
		if least >= 5 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a healthy variant's loop scraped %d times in 20s beside the hung one, want 5", least)
		}
		time.Sleep(10 * time.Millisecond) // polling the pods' scrapes, with a deadline
	}
	for _, s := range sources {
		rs, err := s.Refresh(t.Context(), source.RefreshSpec{})
		if err != nil {
			t.Fatalf("%s: %v", s.serviceKey(), err)
		}
		if got := rs["load"].FirstValue().Value; got != 3 {
			t.Errorf("%s: sum(queue) %v, want 3", s.serviceKey(), got)
		}
		if s.Get("queue", nil) == nil || s.Get("load", nil) == nil {
			t.Errorf("%s: Get found nothing after its Refresh", s.serviceKey())
		}
	}
	select {
	case err := <-hungRefresh:
		t.Fatalf("the hung variant's Refresh ended (%v) before its pod was released: the test proves nothing", err)
	default:
	}
	mu.Lock()
	for svc, at := range scrapes {
		for i := 1; i < len(at); i++ {
			if gap := at[i].Sub(at[i-1]); gap > 5*time.Second {
				t.Errorf("%s: scraped %v after the scrape before (interval %v) beside the hung variant", svc, gap, interval)
			}
		}
	}
	mu.Unlock()
	free()
	if err := <-hungRefresh; err != nil {
		t.Fatal(err)
	}
}

// TestClosedSourceHeldKeepsNoSeriesCaches: ScrapeSeries keeps each pod's series labels
// for its next scrape (serve's use). A closed source still held kept them, as large as
// its pods' expositions, for nothing: Close now lets them go.
func TestClosedSourceHeldKeepsNoSeriesCaches(t *testing.T) {
	var body strings.Builder
	body.WriteString("# TYPE m gauge\n")
	for i := range 5000 {
		fmt.Fprintf(&body, "m{series=\"s-%d\",model=\"model-%d\"} %d\n", i, i, i)
	}
	text := body.String()
	cfg := startHandlerPod(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = w.Write([]byte(text))
	}))
	base := liveHeap()
	s, err := NewPodScrapingSource(t.Context(), cp.Client, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := s.ScrapeSeries(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	open := int64(liveHeap()) - int64(base)
	s.Close()
	held := int64(liveHeap()) - int64(base)
	t.Logf("open %d KiB, closed and held %d KiB", open>>10, held>>10)
	if held > open/4 {
		t.Errorf("a closed source still held keeps %d KiB of the %d KiB it held open, want under a quarter", held>>10, open>>10)
	}
	runtime.KeepAlive(s)
}
