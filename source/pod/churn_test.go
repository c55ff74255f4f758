package pod

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	corev1 "k8s.io/api/core/v1"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/podscrape/podscrape/internal/localcluster"
	"github.com/podscrape/podscrape/source"
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
			var scrapes atomic.Int64
			cfg := startHandlerPod(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				n := scrapes.Add(1)
				w.Header().Set("Content-Type", "text/plain; version=0.0.4")
				var b strings.Builder
				for i := range series {
					fmt.Fprintf(&b, "inflight{request_id=\"%d-%d\"} 1\n", n, i)
				}
				b.WriteString(tc.tail)
				_, _ = w.Write([]byte(b.String()))
			}))
			cfg.Clock = clocktesting.NewFakePassiveClock(t0)
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

// churnPods is the pods of a Service at one refresh: name -> index of its IP in the pool.
type churnPods map[string]int

// churnSourceScenarios are Services whose pods change as production's do, refresh n
// giving the pods Ready then.
var churnSourceScenarios = []struct {
	name string
	pods func(n int) churnPods
	most int // the most pods at once
}{
	{"rolling restarts", func(n int) churnPods {
		out := churnPods{}
		for p := range 3 {
			gen := (n + p*2) / 6 // one of the 3 pods replaced every other refresh
			out[fmt.Sprintf("vllm-%d-%d", p, gen)] = (gen*3 + p) % 8
		}
		return out
	}, 3},
	{"scaled 0 to 5 to 0", func(n int) churnPods {
		out := churnPods{}
		if n%8 < 4 {
			for p := range 5 {
				out[fmt.Sprintf("w-%d-%d", n/8, p)] = p + (n/8%2)*3
			}
		}
		return out
	}, 5},
	{"statefulset new IPs", func(n int) churnPods {
		out := churnPods{}
		for p := range 3 {
			out[fmt.Sprintf("s-%d", p)] = ((n+p)/4*3 + p) % 8
		}
		return out
	}, 3},
}

// Hours of churn through a source on a fake clock, each refresh scraping with Refresh
// (PromQL queries over the history) and ScrapeSeries (serve's): pods replaced, scaled to
// zero and back, renamed IPs, a label value new at every scrape, a metric that comes and
// goes. Every answer counts the pods of its own refresh only (the gone pods' series are
// stale, a pod's old instance too), and what the source holds for its pods (series
// caches, the history's series, its appends, metadata) stays within what the retention
// and the live pods need, so the heap after a GC is flat once warm.
func TestChurnKeepsThePodStateBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("refreshes hours of churn")
	}
	const step = 15 * time.Second
	for _, sc := range churnSourceScenarios {
		t.Run(sc.name, func(t *testing.T) {
			ctx := context.Background()
			ns := fmt.Sprintf("churn-%d", runs.Add(1))
			if err := cp.CreateNamespace(ctx, ns); err != nil {
				t.Fatal(err)
			}
			var refresh atomic.Int64
			block := localcluster.NewAddressBlock()
			ips := make([]string, 8)
			for i := range ips {
				ips[i] = block.Next()
			}
			port, sel := servePods(t, ctx, ns, "churn", ips, func(string) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
					n := refresh.Load()
					w.Header().Set("Content-Type", "text/plain; version=0.0.4")
					var b strings.Builder
					b.WriteString("# HELP queue Requests waiting.\n# TYPE queue gauge\n")
					for m := range 2 {
						fmt.Fprintf(&b, "queue{model=\"m%d\"} 1\nrequests_total{model=\"m%d\"} %d\n", m, m, 10*n)
					}
					for i := range 4 {
						fmt.Fprintf(&b, "pending{request_id=\"%d-%d\"} 1\n", n, i)
					}
					if n%2 == 0 {
						fmt.Fprintf(&b, "# HELP blip Comes and goes.\n# TYPE blip gauge\nblip 1\n")
					}
					_, _ = w.Write([]byte(b.String()))
				})
			})
			clk := clocktesting.NewFakeClock(t0)
			s, err := NewPodScrapingSource(ctx, cp.Client, PodScrapingSourceConfig{ServiceName: "churn", ServiceNamespace: ns,
				MetricsPort: port, Clock: clk})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(s.Close)
			queries := []source.QueryTemplate{
				{Name: "queued", Template: `sum(queue)`},
				{Name: "up", Template: `count(up == 1)`},
				{Name: "pending", Template: `count(pending)`},
				{Name: "instances", Template: `count(count by (pod, instance) (queue))`},
				{Name: "rate", Template: `sum by (model) (rate(requests_total[5m]))`},
			}
			var names []string
			for _, q := range queries {
				q.Type = source.QueryTypePromQL
				s.QueryList().MustRegister(q)
				names = append(names, q.Name)
			}

			live := map[string]*corev1.Pod{} // by name
			n := 0
			run := func(refreshes int) (most churnHeld) {
				for range refreshes {
					want := sc.pods(n)
					for name, p := range live {
						if i, ok := want[name]; !ok {
							if err := cp.Client.Delete(ctx, p); err != nil {
								t.Fatal(err)
							}
							delete(live, name)
						} else if p.Status.PodIP != ips[i] {
							if err := cp.SetPodStatus(ctx, p, ips[i], true); err != nil {
								t.Fatal(err)
							}
						}
					}
					for name, i := range want {
						if live[name] == nil {
							p, err := cp.CreatePod(ctx, localcluster.PodSpec{Namespace: ns, Name: name, Labels: sel, IP: ips[i], Ready: true})
							if err != nil {
								t.Fatal(err)
							}
							live[name] = p
						}
					}
					refresh.Store(int64(n))
					if _, err := s.ScrapeSeries(ctx, labels.Label{Name: "job", Value: "churn"}); err != nil && len(want) > 0 {
						t.Fatalf("refresh %d: ScrapeSeries: %v", n, err)
					}
					results, err := s.Refresh(ctx, source.RefreshSpec{Queries: names})
					if err != nil {
						t.Fatalf("refresh %d: %v", n, err)
					}
					pods := float64(len(want))
					for q, v := range map[string]float64{"queued": 2 * pods, "up": pods, "pending": 4 * pods, "instances": pods} {
						r := results[q]
						got := 0.0
						if len(r.Values) == 1 {
							got = r.Values[0].Value
						}
						if len(r.Values) > 1 || got != v {
							t.Fatalf("refresh %d (%d pods): %s = %v (error %v), want %g: only this refresh's pods", n, len(want), q, r.Values, r.Error, v)
						}
					}
					most = most.max(s.churnHeld())
					n++
					clk.Step(step)
				}
				return most
			}
			run(80) // warm: 20 minutes, past the retention and a truncation
			first := run(120)
			first.heap = liveHeap()
			second := run(120)
			second.heap = liveHeap()
			t.Logf("first half hour: %+v; next: %+v", first, second)
			if second.cachePods > sc.most || second.cacheEntries > sc.most*13 {
				t.Errorf("series caches held %d pods and %d entries, want at most %d pods", second.cachePods, second.cacheEntries, sc.most)
			}
			if held := int(12*time.Minute/step) + 4; second.appends > held {
				t.Errorf("the history's coverage held %d appends, want at most %d (its retention's)", second.appends, held)
			}
			if second.series > first.series || second.metadata > first.metadata || second.families > first.families {
				t.Errorf("what the source holds grew from one half hour to the next: %+v, then %+v", first, second)
			}
			if growth := int64(second.heap) - int64(first.heap); growth > 2<<20 {
				t.Errorf("live heap grew %d KiB over half an hour of churn (%d KiB, then %d KiB)", growth>>10, first.heap>>10, second.heap>>10)
			}
		})
	}
}

// churnHeld is what a source holds for its pods.
type churnHeld struct {
	cachePods, cacheEntries, series, appends, families, metadata int
	heap                                                         uint64
}

func (a churnHeld) max(b churnHeld) churnHeld {
	return churnHeld{cachePods: max(a.cachePods, b.cachePods), cacheEntries: max(a.cacheEntries, b.cacheEntries),
		series: max(a.series, b.series), appends: max(a.appends, b.appends), families: max(a.families, b.families),
		metadata: max(a.metadata, b.metadata)}
}

func (s *PodScrapingSource) churnHeld() churnHeld {
	var h churnHeld
	h.cacheEntries, h.cachePods = s.seriesCaches.cacheEntries()
	s.history.mu.Lock()
	if s.history.store != nil {
		h.series = s.history.store.NumSeries()
	}
	h.appends = len(s.history.since.appends)
	s.history.mu.Unlock()
	for _, entries := range s.MetadataEntries() {
		h.families++
		h.metadata += len(entries)
	}
	return h
}

func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
