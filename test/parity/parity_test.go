package parity

import (
	"context"
	"fmt"
	"math"
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

// A fleet is the pods of the differential test: vLLM pods (some Ready, one not), EPP pods
// and optionally SGLang pods, served by a Simulation on loopback addresses, behind a
// Service each. The model server pods carry a variant (llm-d.ai/variant, two variants
// alternating), which both backends turn into llm_d_ai_variant.
type fleet struct {
	namespace  string
	model      string
	sim        *localcluster.Simulation
	vllmPort   int
	eppPort    int
	sglangPort int // 0: no SGLang pods
	kubeconfig string
}

func newFleet(t *testing.T, ctx context.Context, vllmReady, vllmIdle, epps int) *fleet {
	t.Helper()
	return newFleetWithSGLang(t, ctx, vllmReady, vllmIdle, epps, 0)
}

// variantOf is the llm-d.ai/variant of the fleet's ith model server of a kind.
func variantOf(kind string, i int) string { return fmt.Sprintf("%s-variant-%c", kind, 'a'+i%2) }

func newFleetWithSGLang(t *testing.T, ctx context.Context, vllmReady, vllmIdle, epps, sglang int) *fleet {
	t.Helper()
	f := &fleet{namespace: fmt.Sprintf("parity-%d", time.Now().UnixNano()%1_000_000), model: "Qwen/Qwen3-0.6B"}
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
	sglangPods := names("sglang", sglang, 0)
	f.sim = localcluster.NewSimulation(localcluster.SimulationOptions{
		Seed: 42, Model: f.model, EPPPods: eppPods, ModelServerPods: ready, IdleModelServerPods: idle, SGLangPods: sglangPods,
	})
	block := localcluster.NewAddressBlock()
	serve := func(pods []string) (map[string]string, int) {
		ips := make([]string, len(pods))
		byIP := map[string]string{}
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
	if err := cp.CreateService(ctx, f.namespace, "vllm", map[string]string{"app": "vllm"}, int32(vllmPort)); err != nil {
		t.Fatal(err)
	}
	if err := cp.CreateService(ctx, f.namespace, "epp", map[string]string{"app": "epp"}, int32(eppPort)); err != nil {
		t.Fatal(err)
	}
	modelServer := func(app string, i int) map[string]string {
		return map[string]string{"app": app, llmd.VariantLabel: variantOf(app, i)}
	}
	for i, p := range ready {
		mustPod(t, ctx, localcluster.PodSpec{Namespace: f.namespace, Name: p, Labels: modelServer("vllm", i), IP: vllmIPs[p], Ready: true})
	}
	for i, p := range idle {
		mustPod(t, ctx, localcluster.PodSpec{Namespace: f.namespace, Name: p, Labels: modelServer("vllm", vllmReady+i), IP: vllmIPs[p], Ready: false})
	}
	if sglang > 0 {
		sglangIPs, sglangPort := serve(sglangPods)
		f.sglangPort = sglangPort
		if err := cp.CreateService(ctx, f.namespace, "sglang", map[string]string{"app": "sglang"}, int32(sglangPort)); err != nil {
			t.Fatal(err)
		}
		for i, p := range sglangPods {
			mustPod(t, ctx, localcluster.PodSpec{Namespace: f.namespace, Name: p, Labels: modelServer("sglang", i), IP: sglangIPs[p], Ready: true})
		}
	}
	for _, p := range eppPods {
		mustPod(t, ctx, localcluster.PodSpec{Namespace: f.namespace, Name: p, Labels: map[string]string{"app": "epp"}, IP: eppIPs[p], Ready: true})
	}
	f.kubeconfig = filepath.Join(t.TempDir(), "kubeconfig")
	if err := localcluster.WriteKubeconfig(cp.Config, f.namespace, f.kubeconfig); err != nil {
		t.Fatal(err)
	}
	return f
}

func mustPod(t *testing.T, ctx context.Context, spec localcluster.PodSpec) {
	t.Helper()
	if _, err := cp.CreatePod(ctx, spec); err != nil {
		t.Fatal(err)
	}
}

// prometheus starts the real server scraping the fleet's Ready pods every second.
func (f *fleet) prometheus(t *testing.T, ctx context.Context) *promserver.Server {
	t.Helper()
	jobs := []promserver.PodJob{
		{Name: "vllm", Namespace: f.namespace, Selector: "app=vllm", Port: f.vllmPort},
		{Name: "epp", Namespace: f.namespace, Selector: "app=epp", Port: f.eppPort},
	}
	if f.sglangPort != 0 {
		jobs = append(jobs, promserver.PodJob{Name: "sglang", Namespace: f.namespace, Selector: "app=sglang", Port: f.sglangPort})
	}
	cfg := promserver.PodScrapeConfig(f.kubeconfig, time.Second, jobs...)
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

// source returns a PodScrapingSource over the fleet's Service svc with qs registered,
// mapping the pods' variant label as the server's relabeling does.
func (f *fleet) source(t *testing.T, ctx context.Context, svc string, port int, qs []source.QueryTemplate) *pod.PodScrapingSource {
	t.Helper()
	src, err := pod.NewPodScrapingSource(ctx, cp.Client, pod.PodScrapingSourceConfig{
		ServiceName: svc, ServiceNamespace: f.namespace, MetricsPort: int32(port), PodLabels: llmd.PodLabels(),
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
// started after since: then every pod's exposition since the last Step is in its TSDB.
func waitScraped(t *testing.T, ctx context.Context, prom *promserver.Server, since time.Time, want int) {
	t.Helper()
	// timestamp() of a plain selector is the sample's own time (of any other expression,
	// the evaluation time).
	waitCounted(t, ctx, prom, fmt.Sprintf("count((timestamp(up) > %f) and (up == 1))", float64(since.UnixMilli())/1000), since, want)
}

// waitCounted polls expr, a count of the targets Prometheus scraped after since, until
// it reaches want, for at most 30s.
func waitCounted(t *testing.T, ctx context.Context, prom *promserver.Server, expr string, since time.Time, want int) {
	t.Helper()
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

// series is one series of a result: its labels as text, and its value.
type series map[string]float64

func ours(r *source.MetricResult) series {
	out := series{}
	for _, v := range r.Values {
		out[labelText(v.Labels)] = v.Value
	}
	return out
}

func theirs(v model.Value) series {
	out := series{}
	switch x := v.(type) {
	case model.Vector:
		for _, s := range x {
			m := map[string]string{}
			for k, v := range s.Metric {
				m[string(k)] = string(v)
			}
			out[labelText(m)] = float64(s.Value)
		}
	case *model.Scalar:
		out[labelText(nil)] = float64(x.Value)
	}
	return out
}

func labelText(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s=%q", k, m[k])
	}
	b.WriteByte('}')
	return b.String()
}

func equalWithin(a, b, rel float64) bool {
	switch {
	case math.IsNaN(a) || math.IsNaN(b):
		return math.IsNaN(a) && math.IsNaN(b)
	case math.IsInf(a, 0) || math.IsInf(b, 0):
		return a == b
	}
	return math.Abs(a-b) <= rel*math.Max(math.Abs(a), math.Abs(b))+1e-12
}
