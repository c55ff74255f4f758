package e2e

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/podscrape/podscrape/internal/localcluster"
	"github.com/podscrape/podscrape/source/pod"
)

func TestFaultsAPIServerStoppedMidRunServesLastGoodUntilTTL(t *testing.T) {
	t.Parallel()
	trackGoroutines(t)
	ctx := context.Background()
	// A control plane of this test's own, so stopping it leaves the shared one serving.
	own, err := localcluster.Start(localcluster.Options{Progress: os.Stderr})
	if err != nil {
		t.Fatal(err)
	}
	var stopOnce sync.Once
	stop := func() {
		stopOnce.Do(func() {
			if err := own.Stop(); err != nil {
				t.Errorf("stop the test's control plane: %v", err)
			}
		})
	}
	t.Cleanup(stop)

	const ns, svc = "faults", "metrics"
	if err := own.CreateNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	block := localcluster.NewAddressBlock()
	ips := []string{block.Next(), block.Next()}
	servers, err := localcluster.ServeAll(ips, func(string) http.Handler { return serve([]byte("m 5\n")) })
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range servers {
		t.Cleanup(func() { _ = s.Close() })
	}
	sel := map[string]string{"app": svc}
	if err := own.CreateService(ctx, ns, svc, sel, int32(servers[0].Port)); err != nil {
		t.Fatal(err)
	}
	for i, ip := range ips {
		if _, err := own.CreatePod(ctx, localcluster.PodSpec{Namespace: ns, Name: []string{"a", "b"}[i], Labels: sel, IP: ip, Ready: true}); err != nil {
			t.Fatal(err)
		}
	}

	clk := clocktesting.NewFakePassiveClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	reg := prometheus.NewRegistry()
	cfg := pod.PodScrapingSourceConfig{
		ServiceName: svc, ServiceNamespace: ns, MetricsPort: int32(servers[0].Port),
		DefaultTTL: 30 * time.Second, Clock: clk, Registerer: reg,
	}
	s, err := pod.NewPodScrapingSource(ctx, own.Client, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	good := mustRefresh(t, s)
	if got := upByPod(good); !equalMaps(got, map[string]float64{"a": 1, "b": 1}) {
		t.Fatalf("before the stop: up %v, want a and b", got)
	}

	stop()
	clk.SetTime(clk.Now().Add(10 * time.Second))
	start := time.Now()
	results, err := refresh(t, s)
	t.Logf("Refresh with the API server stopped failed in %s: %v", time.Since(start), err)
	if err == nil || results != nil {
		t.Fatalf("Refresh with the API server stopped: got results %v and error %v, want an error and no results", results, err)
	}
	if !strings.Contains(err.Error(), ns+"/"+svc) || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("error %q: want it to name service %s/%s and wrap connection refused", err, ns, svc)
	}

	// The last good snapshot is served until its TTL, 30s after it was stored.
	clk.SetTime(clk.Now().Add(19 * time.Second)) // 29s
	cached := s.Get(pod.AllMetricsQuery, nil)
	if cached == nil || !cached.Result.CollectedAt.Equal(good.CollectedAt) || len(cached.Result.Values) != len(good.Values) {
		t.Fatalf("Get 29s into a 30s TTL, API server down: got %v, want the last good result", cached)
	}
	if got := samples(&cached.Result, "m")["a"]; len(got) != 1 || got[0].Value != 5 {
		t.Fatalf("cached m of a: got %v, want 5", got)
	}
	if got := value(t, reg, "podscrape_cache_age_seconds", nil); got != 29 {
		t.Fatalf("cache age: got %v, want 29 (operators see the data growing old)", got)
	}
	clk.SetTime(clk.Now().Add(time.Second)) // 30s
	if got := s.Get(pod.AllMetricsQuery, nil); got != nil {
		t.Fatalf("Get at the TTL: got %v, want nil", got)
	}
}

func TestFaultsPodsAddedRemovedAndUnreadyBetweenRefreshes(t *testing.T) {
	t.Parallel()
	recs := map[string]*recorder{}
	var defs []podDef
	for _, name := range []string{"a", "b", "c"} {
		recs[name] = &recorder{body: []byte("m 1\n")}
		defs = append(defs, podDef{name: name, handler: recs[name]})
	}
	f := startService(t, defs...)
	s := newSource(t, f.config())
	ctx := context.Background()
	scraped := func() []string { return slices.Sorted(maps.Keys(upByPod(mustRefresh(t, s)))) }
	if got, want := scraped(), []string{"a", "b", "c"}; !slices.Equal(got, want) {
		t.Fatalf("first refresh: got %v, want %v", got, want)
	}

	// d added, b removed, c turned unready.
	recs["d"] = &recorder{body: []byte("m 1\n")}
	ip := localcluster.NewAddressBlock().Next()
	srv, err := localcluster.Serve(ip, int(f.port), recs["d"])
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	if _, err := cp.CreatePod(ctx, localcluster.PodSpec{Namespace: f.ns, Name: "d", Labels: map[string]string{"app": f.svc}, IP: ip, Ready: true}); err != nil {
		t.Fatal(err)
	}
	if err := cp.Client.Delete(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: "b"}}); err != nil {
		t.Fatal(err)
	}
	setReady := func(name string, ready bool) {
		var p corev1.Pod
		if err := cp.Client.Get(ctx, keyOf(f.ns, name), &p); err != nil {
			t.Fatal(err)
		}
		if err := cp.SetPodStatus(ctx, &p, p.Status.PodIP, ready); err != nil {
			t.Fatal(err)
		}
	}
	setReady("c", false)
	if got, want := scraped(), []string{"a", "d"}; !slices.Equal(got, want) {
		t.Fatalf("after d added, b removed, c unready: got %v, want %v", got, want)
	}
	for name, want := range map[string]int{"a": 2, "b": 1, "c": 1, "d": 1} {
		if got := len(recs[name].seen()); got != want {
			t.Fatalf("requests to %s: got %d, want %d", name, got, want)
		}
	}

	setReady("c", true)
	if got, want := scraped(), []string{"a", "c", "d"}; !slices.Equal(got, want) {
		t.Fatalf("after c ready again: got %v, want %v", got, want)
	}
}
