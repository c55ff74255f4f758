package pod

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/podscrape/podscrape/internal/localcluster"
	"github.com/podscrape/podscrape/source"
)

// TestRolloutWithNoReadyPodIsWarned: a one-replica model rolled with maxSurge 0 and
// maxUnavailable 1 (a GPU-bound rollout, or the Recreate strategy): from the old pod's
// termination until the new pod is Ready (a model load: minutes), the Service selects
// pods none of which is Ready. Every result, PromQL and metric-name, then answers the
// pods' gauges empty (a rate its last minute's samples, then empty too), as for a
// Service scaled to zero, with a nil Error: the old pod, terminating, is not named (a
// scale-down), and the new one never answered. It said nothing, the autoscaler's "no
// load". Each result now carries the warning that no pod is Ready, counting what the
// pods are, as ScrapeSeries' ErrNoReadyPods says it; a Service that selects no pod
// (scaled to zero) has none, nor has the refresh once the new pod is Ready.
func TestRolloutWithNoReadyPodIsWarned(t *testing.T) {
	ctx := context.Background()
	ns := fmt.Sprintf("noreadyroll-%d", runs.Add(1))
	if err := cp.CreateNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cp.ReleaseTerminating(context.Background(), ns) })
	block := localcluster.NewAddressBlock()
	ips := []string{block.Next(), block.Next()}
	port, sel := servePods(t, ctx, ns, "vllm", ips, func(string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write([]byte("# TYPE waiting gauge\nwaiting 3\n# TYPE reqs_total counter\nreqs_total 7\n"))
		})
	})
	cfg := PodScrapingSourceConfig{ServiceName: "vllm", ServiceNamespace: ns, MetricsPort: port}
	s, clk := fakeClockSource(t, cfg, time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC), []source.QueryTemplate{
		{Name: "waiting", Template: `sum(waiting)`},
		{Name: "rate", Template: `sum(rate(reqs_total[1m]))`},
	})
	s.QueryList().MustRegister(source.QueryTemplate{Name: "waiting_pods", Type: source.QueryTypeMetricName, Template: "waiting"})
	const want = "service " + "%s/vllm: no ready pod among the 2 pods it selects: 1 terminating, 1 not Ready"
	check := func(what string, warned bool) {
		t.Helper()
		rs := mustRefresh(t, s)
		clk.Step(15 * time.Second)
		for _, name := range []string{"waiting", "rate", "waiting_pods", AllMetricsQuery} {
			r := rs[name]
			got := strings.Join(r.Warnings, "\n")
			has := strings.Contains(got, fmt.Sprintf(want, ns))
			if !warned {
				// Not this warning, nor one counting other pods: a Service scaled to
				// zero selects none, and "no ready pod among the 0 pods" is no news.
				has = strings.Contains(got, ErrNoReadyPods.Error())
			}
			if has != warned {
				t.Errorf("%s: %s: %d values, Error %v, warnings %q; want the no-ready warning %v", what, name, len(r.Values), r.Error, r.Warnings, warned)
			}
		}
	}
	check("a Service selecting no pod (scaled to zero)", false)
	if _, err := cp.CreatePod(ctx, localcluster.PodSpec{Namespace: ns, Name: "vllm-old", Labels: sel, IP: ips[0], Ready: true}); err != nil {
		t.Fatal(err)
	}
	check("the old pod Ready", false)
	check("the old pod Ready, again", false)
	// The rollout: the old pod drains (deleted, held by its finalizer), the new one starts.
	updatePod(t, ns, "vllm-old", false, func(p *corev1.Pod) { p.Finalizers = append(p.Finalizers, "podscrape.test/terminating") })
	if err := cp.Client.Delete(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "vllm-old"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := cp.CreatePod(ctx, localcluster.PodSpec{Namespace: ns, Name: "vllm-new", Labels: sel, IP: ips[1], Ready: false}); err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		check(fmt.Sprintf("the old pod draining, the new one loading its model (refresh %d)", i+1), true)
	}
	setReady(t, ns, "vllm-new", true)
	check("the new pod Ready", false)
}

// TestOnlyPodLoadingIsWarned: a Service selecting one pod, not Ready and never scraped
// (the Recreate strategy once the old pod is gone, the new one loading its model; a
// scale from zero's first pod) is a rollout's Service with no pod Ready too: every
// result carries the warning, counting the one pod, not the empty answer alone (the
// autoscaler's "no load").
func TestOnlyPodLoadingIsWarned(t *testing.T) {
	ctx := context.Background()
	ns := fmt.Sprintf("noreadyone-%d", runs.Add(1))
	if err := cp.CreateNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	ip := localcluster.NewAddressBlock().Next()
	port, sel := servePods(t, ctx, ns, "vllm", []string{ip}, func(string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write([]byte("# TYPE waiting gauge\nwaiting 3\n"))
		})
	})
	if _, err := cp.CreatePod(ctx, localcluster.PodSpec{Namespace: ns, Name: "vllm-new", Labels: sel, IP: ip, Ready: false}); err != nil {
		t.Fatal(err)
	}
	cfg := PodScrapingSourceConfig{ServiceName: "vllm", ServiceNamespace: ns, MetricsPort: port}
	s, _ := fakeClockSource(t, cfg, time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC), []source.QueryTemplate{
		{Name: "waiting", Template: `sum(waiting)`},
	})
	want := fmt.Sprintf("service %s/vllm: no ready pod among the 1 pod it selects: 1 not Ready", ns)
	rs := mustRefresh(t, s)
	for _, name := range []string{"waiting", AllMetricsQuery} {
		r := rs[name]
		if !strings.Contains(strings.Join(r.Warnings, "\n"), want) {
			t.Errorf("%s: %d values, Error %v, warnings %q; want the warning %q", name, len(r.Values), r.Error, r.Warnings, want)
		}
	}
}

// TestNoReadyPodWarningFromTheScrapeLoop: a Refresh of PromQL queries answered from the
// scrape loop's latest scrape, one that found no pod Ready, carries that scrape's
// warning, as the loop's metric-name results do.
func TestNoReadyPodWarningFromTheScrapeLoop(t *testing.T) {
	ctx := context.Background()
	ns := fmt.Sprintf("noreadyloop-%d", runs.Add(1))
	if err := cp.CreateNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cp.ReleaseTerminating(context.Background(), ns) })
	ip := localcluster.NewAddressBlock().Next()
	port, sel := servePods(t, ctx, ns, "vllm", []string{ip}, func(string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("waiting 3\n")) })
	})
	if _, err := cp.CreatePod(ctx, localcluster.PodSpec{Namespace: ns, Name: "vllm-old", Labels: sel, IP: ip, Ready: true}); err != nil {
		t.Fatal(err)
	}
	clk := clocktesting.NewFakeClock(time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC))
	cfg := PodScrapingSourceConfig{ServiceName: "vllm", ServiceNamespace: ns, MetricsPort: port, Clock: clk, ScrapeInterval: 15 * time.Second}
	s, err := NewPodScrapingSource(ctx, cp.Client, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	s.QueryList().MustRegister(source.QueryTemplate{Name: "waiting_pods", Type: source.QueryTypeMetricName, Template: "waiting"})
	s.QueryList().MustRegister(source.QueryTemplate{Name: "waiting", Type: source.QueryTypePromQL, Template: "sum(waiting)"})
	loopCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.Start(loopCtx) }()
	defer func() {
		cancel()
		<-done
	}()
	waitLoop := func(what string, ok func(*source.CachedValue) bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for v := s.Get("waiting_pods", nil); v == nil || !ok(v); v = s.Get("waiting_pods", nil) {
			if time.Now().After(deadline) {
				t.Fatalf("the scrape loop did not %s within 10s: %+v", what, s.Get("waiting_pods", nil))
			}
			time.Sleep(time.Millisecond) // polling the loop's progress with a deadline
		}
	}
	waitLoop("scrape the old pod", func(v *source.CachedValue) bool { return len(v.Result.Values) > 0 })
	// The old pod drains, the new one loads its model.
	updatePod(t, ns, "vllm-old", false, func(p *corev1.Pod) { p.Finalizers = append(p.Finalizers, "podscrape.test/terminating") })
	if err := cp.Client.Delete(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "vllm-old"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := cp.CreatePod(ctx, localcluster.PodSpec{Namespace: ns, Name: "vllm-new", Labels: sel, IP: localcluster.NewAddressBlock().Next(), Ready: false}); err != nil {
		t.Fatal(err)
	}
	clk.Step(cfg.ScrapeInterval) // the loop's next scrape finds no pod Ready
	waitLoop("find no pod Ready", func(v *source.CachedValue) bool { return len(v.Result.Values) == 0 })
	rs, err := s.Refresh(ctx, source.RefreshSpec{Queries: []string{"waiting"}})
	if err != nil {
		t.Fatal(err)
	}
	if r := rs["waiting"]; !strings.Contains(strings.Join(r.Warnings, "\n"), "no ready pod among the 2 pods it selects: 1 terminating, 1 not Ready") {
		t.Errorf("from the loop's scrape: %d values, Error %v, warnings %q; want the no-ready warning", len(r.Values), r.Error, r.Warnings)
	}
}

// TestOnlyPodNotReadyIsAGap: the only pod of a Service, having answered, fails its
// readiness probe for three minutes (overloaded: it goes on serving its queue, unseen),
// then is Ready again. Ten minutes on, a window starting in those three minutes reads
// its requests from the first scrape after them: increase(x[10m]) added up as little as
// 885 of the 1200 the pod served, with a nil Error, where serve answers 422 (a gap). Those
// refreshes are now a gap of the history, as every pod failing is: the window is
// partial (ErrPartialWindow) while it starts in them. A rollout's refreshes with no
// pod Ready (the old pod terminating, the new one starting) are no gap: see
// TestRolloutAnswersTheRequestsServed in source/llmd.
func TestOnlyPodNotReadyIsAGap(t *testing.T) {
	ctx := context.Background()
	ns := fmt.Sprintf("noreadygap-%d", runs.Add(1))
	if err := cp.CreateNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	ip := localcluster.NewAddressBlock().Next()
	var served atomicCount
	port, sel := servePods(t, ctx, ns, "vllm", []string{ip}, func(string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			fmt.Fprintf(w, "# TYPE reqs_total counter\nreqs_total %d\n", served.load())
		})
	})
	if _, err := cp.CreatePod(ctx, localcluster.PodSpec{Namespace: ns, Name: "vllm-0", Labels: sel, IP: ip, Ready: true}); err != nil {
		t.Fatal(err)
	}
	cfg := PodScrapingSourceConfig{ServiceName: "vllm", ServiceNamespace: ns, MetricsPort: port}
	s, clk := fakeClockSource(t, cfg, time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC), []source.QueryTemplate{
		{Name: "count", Template: `sum(increase(reqs_total[10m]))`},
	})
	const notReady, ready, steps = 45, 57, 100 // three minutes not Ready
	partial := 0
	for i := range steps {
		switch i {
		case notReady:
			setReady(t, ns, "vllm-0", false)
		case ready:
			setReady(t, ns, "vllm-0", true)
		}
		rs := mustRefresh(t, s)
		if r := rs["count"]; i > notReady+40 && i < ready+40 { // the window starts in the three minutes
			if !errors.Is(r.Error, ErrPartialWindow) {
				t.Errorf("refresh %d, the window starting while the pod was not Ready: %v, Error %v; want ErrPartialWindow", i, r.Values, r.Error)
			} else {
				partial++
			}
		}
		clk.Step(15 * time.Second)
		served.add(30)
	}
	if partial == 0 {
		t.Error("no window found partial")
	}
}

// TestOnePodOfTwoNotReadyIsNoGap: of two pods, one fails its readiness probe for three
// minutes while the other goes on being scraped. Those refreshes scraped a pod: they are
// no gap of the history (only refreshes that scraped none while a pod that answered is
// not Ready are, TestOnlyPodNotReadyIsAGap), and a window starting in them is answered,
// with no Error, from the pod scraped throughout; counted as a gap, the autoscaler's
// increase(x[10m]) would be ErrPartialWindow for ten minutes, as if it read nothing,
// while one pod of two served.
func TestOnePodOfTwoNotReadyIsNoGap(t *testing.T) {
	ctx := context.Background()
	ns := fmt.Sprintf("noreadynogap-%d", runs.Add(1))
	if err := cp.CreateNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	block := localcluster.NewAddressBlock()
	ips := []string{block.Next(), block.Next()}
	var served atomicCount
	port, sel := servePods(t, ctx, ns, "vllm", ips, func(string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			fmt.Fprintf(w, "# TYPE reqs_total counter\nreqs_total %d\n", served.load())
		})
	})
	for i, ip := range ips {
		if _, err := cp.CreatePod(ctx, localcluster.PodSpec{Namespace: ns, Name: fmt.Sprintf("vllm-%d", i), Labels: sel, IP: ip, Ready: true}); err != nil {
			t.Fatal(err)
		}
	}
	cfg := PodScrapingSourceConfig{ServiceName: "vllm", ServiceNamespace: ns, MetricsPort: port}
	s, clk := fakeClockSource(t, cfg, time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC), []source.QueryTemplate{
		{Name: "count", Template: `sum(increase(reqs_total{pod="vllm-0"}[10m]))`},
	})
	const notReady, ready, steps = 45, 57, 100 // vllm-1 three minutes not Ready
	answered := 0
	for i := range steps {
		switch i {
		case notReady:
			setReady(t, ns, "vllm-1", false)
		case ready:
			setReady(t, ns, "vllm-1", true)
		}
		rs := mustRefresh(t, s)
		if r := rs["count"]; i > notReady+40 && i < ready+40 { // the window starts in the three minutes
			if r.Error != nil || len(r.Values) != 1 {
				t.Errorf("refresh %d, the window starting while vllm-1 was not Ready (vllm-0 scraped): %v, Error %v; want one value, no Error", i, r.Values, r.Error)
			} else {
				answered++
			}
		}
		clk.Step(15 * time.Second)
		served.add(30)
	}
	if answered == 0 {
		t.Error("no window starting while vllm-1 was not Ready answered")
	}
}

// atomicCount is a pod's request count, read by its handler.
type atomicCount struct{ n atomic.Int64 }

func (c *atomicCount) add(n int64) { c.n.Add(n) }
func (c *atomicCount) load() int64 { return c.n.Load() }
