package e2e

// Benchmarks of Refresh on the real control plane and loopback pods. Run them, with the
// parser's, through `make bench` (hack/bench.sh), or alone:
//
//	go test ./test/e2e -run '^$' -bench 'Refresh|Get' -benchmem -count 3

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/cache"

	"github.com/podscrape/podscrape/internal/exposition"
	"github.com/podscrape/podscrape/internal/localcluster"
	"github.com/podscrape/podscrape/source"
	"github.com/podscrape/podscrape/source/pod"
)

// benchService is a Service of pods serving one body, discovered through an informer
// cache as a controller's manager would (so the benchmark measures scraping, not the API
// server's list latency).
type benchService struct {
	cfg     pod.PodScrapingSourceConfig
	reader  *cacheReader
	samples int       // exposed samples per pod
	farm    io.Closer // the child process serving the pods, if any
	stop    func()    // stops the informers
}

type cacheReader struct {
	cache.Cache
}

var (
	benchMu       sync.Mutex // protects benchServices
	benchServices = map[string]*benchService{}
)

// startBenchService creates (once per process and key) n pods. With bodyFile set they are
// served by a child process (startServerFarm); else by handler in this process.
func startBenchService(b *testing.B, key string, n int, bodyFile string, handler http.Handler, samplesPerPod int) *benchService {
	b.Helper()
	benchMu.Lock()
	defer benchMu.Unlock()
	if s, ok := benchServices[key]; ok {
		return s
	}
	ctx := context.Background()
	ns := fmt.Sprintf("bench-%s-%d", key, nsCounter.Add(1))
	if err := cp.CreateNamespace(ctx, ns); err != nil {
		b.Fatal(err)
	}
	block := localcluster.NewAddressBlock()
	ips := make([]string, n)
	for i := range ips {
		ips[i] = block.Next()
	}
	var port int32
	var farm io.Closer
	if bodyFile != "" {
		port, farm = startServerFarm(b, bodyFile, ips)
	} else {
		servers, err := localcluster.ServeAll(ips, func(string) http.Handler { return handler })
		if err != nil {
			b.Fatal(err)
		}
		port = int32(servers[0].Port)
	}
	sel := map[string]string{"app": key}
	if err := cp.CreateService(ctx, ns, "svc", sel, port); err != nil {
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	limit := make(chan struct{}, 16)
	for i, ip := range ips {
		wg.Go(func() {
			limit <- struct{}{}
			defer func() { <-limit }()
			_, err := cp.CreatePod(ctx, localcluster.PodSpec{Namespace: ns, Name: fmt.Sprintf("pod-%03d", i), Labels: sel, IP: ip, Ready: true})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			b.Fatal(err)
		}
	}
	informers, err := cache.New(cp.Config, cache.Options{Scheme: localcluster.Scheme(), DefaultNamespaces: map[string]cache.Config{ns: {}}})
	if err != nil {
		b.Fatal(err)
	}
	informersCtx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = informers.Start(informersCtx)
	}()
	informers.WaitForCacheSync(ctx)
	s := &benchService{
		cfg:     pod.PodScrapingSourceConfig{ServiceName: "svc", ServiceNamespace: ns, MetricsPort: port},
		reader:  &cacheReader{informers},
		samples: samplesPerPod,
		farm:    farm,
		stop: func() {
			stop()
			<-done
		},
	}
	benchServices[key] = s
	return s
}

// stopBenchServices stops the informers and server farms of every bench service.
func stopBenchServices() {
	benchMu.Lock()
	defer benchMu.Unlock()
	for key, s := range benchServices {
		s.stop()
		if s.farm != nil {
			_ = s.farm.Close()
		}
		delete(benchServices, key)
	}
}

func (s *benchService) source(b *testing.B, cap int) *pod.PodScrapingSource {
	b.Helper()
	cfg := s.cfg
	cfg.MaxConcurrentScrapes = cap
	src, err := pod.NewPodScrapingSource(context.Background(), s.reader, cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(src.Close)
	return src
}

func vllmService(b *testing.B, pods int) *benchService {
	file, err := filepath.Abs(filepath.Join("..", "..", "testdata", "vllm-sim-metrics.txt"))
	if err != nil {
		b.Fatal(err)
	}
	return startBenchService(b, fmt.Sprintf("vllm%d", pods), pods, file, nil, sampleLines(fixture(b, "vllm-sim-metrics.txt")))
}

// reportPerSample adds samples/s, B/sample and allocs/sample from b's own counters.
func reportPerSample(b *testing.B, samplesPerOp int, start time.Time, before, after *runtimeStats) {
	b.Helper()
	ops := float64(b.N)
	total := float64(samplesPerOp) * ops
	b.ReportMetric(total/time.Since(start).Seconds(), "samples/s")
	b.ReportMetric(float64(after.bytes-before.bytes)/total, "B/sample")
	b.ReportMetric(float64(after.allocs-before.allocs)/total, "allocs/sample")
}

// BenchmarkRefresh200Pods scrapes 200 loopback pods serving the vLLM fixture.
func BenchmarkRefresh200Pods(b *testing.B) {
	svc := vllmService(b, 200)
	for _, cap := range []int{10, 50} {
		b.Run(fmt.Sprintf("cap=%d", cap), func(b *testing.B) {
			src := svc.source(b, cap)
			ctx := context.Background()
			if _, err := src.Refresh(ctx, source.RefreshSpec{}); err != nil { // warm connections and interner
				b.Fatal(err)
			}
			b.ReportAllocs()
			before := readStats()
			start := time.Now()
			for b.Loop() {
				results, err := src.Refresh(ctx, source.RefreshSpec{})
				if err != nil || results[pod.AllMetricsQuery].Error != nil {
					b.Fatal(err, results[pod.AllMetricsQuery].Error)
				}
			}
			after := readStats()
			reportPerSample(b, 200*svc.samples, start, before, after)
		})
	}
}

// BenchmarkRefreshParseOnly is the parse-only baseline of BenchmarkRefresh200Pods in the
// same run: the vLLM fixture parsed 200 times into MetricValues as Refresh builds them,
// with no network, discovery or aggregation.
func BenchmarkRefreshParseOnly(b *testing.B) {
	body := fixture(b, "vllm-sim-metrics.txt")
	samples := sampleLines(body)
	interner := exposition.NewInterner(1 << 18)
	parser := exposition.NewParser(exposition.Options{Interner: interner})
	values := make([]source.MetricValue, 0, samples)
	now := time.Now()
	parse := func(pod string) {
		values = values[:0]
		_, err := parser.Parse(bytes.NewReader(body), exposition.FormatText, func(s *exposition.Sample) error {
			labels := make(map[string]string, len(s.Labels)+2)
			for _, l := range s.Labels {
				labels[l.Name] = l.Value
			}
			labels["__name__"] = s.Name
			labels["pod"] = pod
			values = append(values, source.MetricValue{Value: s.Value, Timestamp: now, Labels: labels})
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	parse("warm")
	b.ReportAllocs()
	before := readStats()
	start := time.Now()
	for b.Loop() {
		for i := range 200 {
			parse(podNames[i])
		}
	}
	after := readStats()
	reportPerSample(b, 200*samples, start, before, after)
}

var podNames = func() []string {
	out := make([]string, 200)
	for i := range out {
		out[i] = fmt.Sprintf("pod-%03d", i)
	}
	return out
}()

// BenchmarkRefreshQuery compares a refresh asking for one metric with one asking for
// all_metrics, over 10 and over 200 vLLM pods: the per-refresh cost of discovery weighs
// more on the smaller Service.
func BenchmarkRefreshQuery(b *testing.B) {
	for _, pods := range []int{10, 200} {
		svc := vllmService(b, pods)
		for _, query := range []string{"one_metric", pod.AllMetricsQuery} {
			b.Run(fmt.Sprintf("pods=%d/query=%s", pods, query), func(b *testing.B) {
				src := svc.source(b, 10)
				src.QueryList().MustRegister(source.QueryTemplate{Name: "one_metric", Type: source.QueryTypeMetricName, Template: "vllm:num_requests_waiting"})
				ctx := context.Background()
				spec := source.RefreshSpec{Queries: []string{query}}
				if _, err := src.Refresh(ctx, spec); err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				for b.Loop() {
					if _, err := src.Refresh(ctx, spec); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkGetDuringRefresh measures Get while a Refresh over stalled pods is in flight.
func BenchmarkGetDuringRefresh(b *testing.B) {
	var stalled sync.WaitGroup
	release := make(chan struct{})
	var blocking bool
	var mu sync.Mutex // protects blocking
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		block := blocking
		mu.Unlock()
		if block {
			stalled.Done()
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
		w.Header().Set("Content-Type", textFormat)
		_, _ = w.Write(fixture(b, "vllm-sim-metrics.txt"))
	})
	svc := startBenchService(b, fmt.Sprintf("stalled%d", nsCounter.Add(1)), 5, "", handler, 0) // a new one per run: the handler is this run's
	src := svc.source(b, 10)
	ctx := context.Background()
	if _, err := src.Refresh(ctx, source.RefreshSpec{}); err != nil {
		b.Fatal(err)
	}
	mu.Lock()
	blocking = true
	mu.Unlock()
	stalled.Add(5)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = src.Refresh(ctx, source.RefreshSpec{})
	}()
	stalled.Wait() // every pod is now holding the refresh

	latencies := make([]time.Duration, 0, 1<<20)
	b.ReportAllocs()
	for b.Loop() {
		t0 := time.Now()
		if src.Get(pod.AllMetricsQuery, nil) == nil {
			b.Fatal("Get: nil during a refresh")
		}
		if len(latencies) < cap(latencies) {
			latencies = append(latencies, time.Since(t0))
		}
	}
	b.StopTimer()
	close(release)
	<-done
	slices.Sort(latencies)
	b.ReportMetric(float64(latencies[len(latencies)*50/100].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(latencies[len(latencies)*99/100].Nanoseconds()), "p99-ns")
}
