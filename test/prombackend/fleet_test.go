package prombackend

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/podscrape/podscrape/internal/localcluster"
	"github.com/podscrape/podscrape/internal/promserver"
	"github.com/podscrape/podscrape/source"
	"github.com/podscrape/podscrape/source/llmd"
	"github.com/podscrape/podscrape/source/pod"
)

// A fleet is the pods of the tests, as test/parity builds them: vLLM pods (some Ready,
// one not) and EPP pods, served by a Simulation on loopback addresses, behind two
// Services.
type fleet struct {
	namespace  string
	model      string
	sim        *localcluster.Simulation
	vllmPort   int
	eppPort    int
	kubeconfig string
}

func newFleet(t *testing.T, ctx context.Context, vllmReady, vllmIdle, epps int) *fleet {
	t.Helper()
	f := &fleet{namespace: fmt.Sprintf("prombackend-%d", time.Now().UnixNano()%1_000_000), model: "Qwen/Qwen3-0.6B"}
	if err := cp.CreateNamespace(ctx, f.namespace); err != nil {
		t.Fatal(err)
	}
	names := func(prefix string, n, from int) []string {
		var out []string
		for i := range n {
			out = append(out, fmt.Sprintf("%s-%d", prefix, from+i))
		}
		return out
	}
	ready, idle, eppPods := names("vllm", vllmReady, 0), names("vllm", vllmIdle, vllmReady), names("epp", epps, 0)
	f.sim = localcluster.NewSimulation(localcluster.SimulationOptions{
		Seed: 7, Model: f.model, EPPPods: eppPods, ModelServerPods: ready, IdleModelServerPods: idle,
	})
	block := localcluster.NewAddressBlock()
	serve := func(pods []string) (map[string]string, int) {
		byIP := map[string]string{}
		ips := make([]string, len(pods))
		for i, p := range pods {
			ips[i] = block.Next()
			byIP[ips[i]] = p
		}
		servers, err := localcluster.ServeAll(ips, func(ip string) http.Handler { return f.sim.Handler(byIP[ip]) })
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			for _, s := range servers {
				_ = s.Close()
			}
		})
		podIP := map[string]string{}
		for ip, p := range byIP {
			podIP[p] = ip
		}
		return podIP, servers[0].Port
	}
	vllmIPs, vllmPort := serve(append(slices.Clone(ready), idle...))
	eppIPs, eppPort := serve(eppPods)
	f.vllmPort, f.eppPort = vllmPort, eppPort
	for _, svc := range []struct {
		name string
		port int
	}{{"vllm", vllmPort}, {"epp", eppPort}} {
		if err := cp.CreateService(ctx, f.namespace, svc.name, map[string]string{"app": svc.name}, int32(svc.port)); err != nil {
			t.Fatal(err)
		}
	}
	create := func(spec localcluster.PodSpec) {
		if _, err := cp.CreatePod(ctx, spec); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range ready {
		create(localcluster.PodSpec{Namespace: f.namespace, Name: p, Labels: map[string]string{"app": "vllm"}, IP: vllmIPs[p], Ready: true})
	}
	for _, p := range idle {
		create(localcluster.PodSpec{Namespace: f.namespace, Name: p, Labels: map[string]string{"app": "vllm"}, IP: vllmIPs[p], Ready: false})
	}
	for _, p := range eppPods {
		create(localcluster.PodSpec{Namespace: f.namespace, Name: p, Labels: map[string]string{"app": "epp"}, IP: eppIPs[p], Ready: true})
	}
	f.kubeconfig = filepath.Join(t.TempDir(), "kubeconfig")
	if err := localcluster.WriteKubeconfig(cp.Config, f.namespace, f.kubeconfig); err != nil {
		t.Fatal(err)
	}
	return f
}

// prometheus starts the real server scraping the fleet's Ready pods every second. It is
// stopped at the end of the test; stopping it earlier is allowed.
func (f *fleet) prometheus(t *testing.T, ctx context.Context) *promserver.Server {
	t.Helper()
	cfg := promserver.PodScrapeConfig(f.kubeconfig, time.Second,
		promserver.PodJob{Name: "vllm", Namespace: f.namespace, Selector: "app=vllm", Port: f.vllmPort},
		promserver.PodJob{Name: "epp", Namespace: f.namespace, Selector: "app=epp", Port: f.eppPort},
	)
	var log strings.Builder
	prom, err := promserver.Start(ctx, promserver.Options{Config: cfg, Log: &syncWriter{b: &log}})
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	t.Cleanup(func() {
		if err := prom.Stop(); err != nil {
			t.Errorf("stop prometheus: %v", err)
		}
		if t.Failed() {
			t.Logf("prometheus log:\n%s", log.String())
		}
	})
	return prom
}

// podSource returns a PodScrapingSource over the fleet's Service svc with qs registered.
func (f *fleet) podSource(t *testing.T, ctx context.Context, svc string, port int, qs []source.QueryTemplate) *pod.PodScrapingSource {
	t.Helper()
	src, err := pod.NewPodScrapingSource(ctx, cp.Client, pod.PodScrapingSourceConfig{
		ServiceName: svc, ServiceNamespace: f.namespace, MetricsPort: int32(port),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(src.Close)
	if err := llmd.Register(src.QueryList(), qs); err != nil {
		t.Fatal(err)
	}
	return src
}

// waitScraped waits until Prometheus holds, for each of want targets, a scrape that
// started after since.
func waitScraped(t *testing.T, ctx context.Context, prom *promserver.Server, since time.Time, want int) {
	t.Helper()
	// timestamp() of a plain selector is the sample's own time.
	expr := fmt.Sprintf("count((timestamp(up) > %f) and (up == 1))", float64(since.UnixMilli())/1000)
	deadline := time.Now().Add(30 * time.Second)
	for {
		v, _, _, err := prom.API.Query(ctx, expr, time.Now())
		if err == nil {
			if vec, ok := v.(model.Vector); ok && len(vec) == 1 && int(vec[0].Value) >= want {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("Prometheus did not scrape all %d targets after %s within 30s (last: %v, %v)", want, since, v, err)
		}
		select {
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// syncWriter makes a strings.Builder safe for the server's two output streams.
type syncWriter struct {
	mu sync.Mutex // protects b
	b  *strings.Builder
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}
