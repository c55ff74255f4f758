package parity

import (
	"context"
	"fmt"
	"maps"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/podscrape/podscrape/internal/localcluster"
	"github.com/podscrape/podscrape/internal/promserver"
	"github.com/podscrape/podscrape/source"
	"github.com/podscrape/podscrape/source/pod"
)

// scene is one Service "vllm" of Ready loopback pods in a namespace of its own, scraped
// every second by the real Prometheus server and read by a pod source with queries.
type scene struct {
	ns        string
	instances map[string]string // each pod's <IP>:<port>, by name
	port      int               // the pods' port
	prom      *promserver.Server
	src       *pod.PodScrapingSource
}

// sceneSpec is what startScene starts.
type sceneSpec struct {
	prefix  string                         // names the namespace
	names   []string                       // the pods
	handler func(name string) http.Handler // each pod's answer
	labels  map[string]map[string]string   // pod labels besides the selector's, by pod
	source  func(*pod.PodScrapingSourceConfig)
	queries map[string]string // PromQL by query name, registered on the source
	// promConfig, when set, edits the Prometheus configuration (promserver.PodScrapeConfig's).
	promConfig func(string) string
}

// startScene starts the pods of spec, their Service, the Prometheus server scraping them
// and a pod source with spec's queries registered.
func startScene(t *testing.T, ctx context.Context, spec sceneSpec) scene {
	t.Helper()
	prefix, names, handler, queries := spec.prefix, spec.names, spec.handler, spec.queries
	ns := fmt.Sprintf("%s-%d", prefix, time.Now().UnixNano()%1_000_000)
	if err := cp.CreateNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	block := localcluster.NewAddressBlock()
	ips := make([]string, len(names))
	byIP := map[string]string{}
	for i, name := range names {
		ips[i] = block.Next()
		byIP[ips[i]] = name
	}
	servers, err := localcluster.ServeAll(ips, func(ip string) http.Handler { return handler(byIP[ip]) })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, s := range servers {
			_ = s.Close()
		}
	})
	port := servers[0].Port
	selector := map[string]string{"app": "vllm"}
	if err := cp.CreateService(ctx, ns, "vllm", selector, int32(port)); err != nil {
		t.Fatal(err)
	}
	for i, name := range names {
		l := maps.Clone(selector)
		maps.Copy(l, spec.labels[name])
		mustPod(t, ctx, localcluster.PodSpec{Namespace: ns, Name: name, Labels: l, IP: ips[i], Ready: true})
	}
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := localcluster.WriteKubeconfig(cp.Config, ns, kubeconfig); err != nil {
		t.Fatal(err)
	}
	config := promserver.PodScrapeConfig(kubeconfig, time.Second,
		promserver.PodJob{Name: "vllm", Namespace: ns, Selector: "app=vllm", Port: port})
	if spec.promConfig != nil {
		config = spec.promConfig(config)
	}
	var log strings.Builder
	prom, err := promserver.Start(ctx, promserver.Options{Config: config, Log: &syncWriter{b: &log}})
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	t.Cleanup(func() {
		_ = prom.Stop()
		if t.Failed() {
			t.Logf("prometheus log:\n%s", log.String())
		}
	})
	cfg := pod.PodScrapingSourceConfig{ServiceName: "vllm", ServiceNamespace: ns, MetricsPort: int32(port)}
	if spec.source != nil {
		spec.source(&cfg)
	}
	src, err := pod.NewPodScrapingSource(ctx, cp.Client, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(src.Close)
	for name, q := range queries {
		if err := src.QueryList().Register(source.QueryTemplate{Name: name, Type: source.QueryTypePromQL, Template: q}); err != nil {
			t.Fatal(err)
		}
	}
	instances := map[string]string{}
	for i, name := range names {
		instances[name] = net.JoinHostPort(ips[i], strconv.Itoa(port))
	}
	return scene{ns: ns, instances: instances, port: port, prom: prom, src: src}
}

// exposingCurrent is a sceneSpec handler under which pod names[i] answers *bodies[i].Load()
// in the text format: the exposition a test stored for the current step.
func exposingCurrent(names []string, bodies []atomic.Pointer[string]) func(name string) http.Handler {
	return func(name string) http.Handler {
		i := slices.Index(names, name)
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain; version=0.0.4")
			_, _ = w.Write([]byte(*bodies[i].Load()))
		})
	}
}

// compareStepAt waits for the real server to scrape sc's pods, refreshes sc.src, waits
// for the server to have scraped before the instant of the result of query key, and
// compares every query's answer at that instant with the server's by same.
func compareStepAt(t *testing.T, ctx context.Context, sc scene, pods, step int, queries map[string]string, key string, same func(ours, theirs series) bool) {
	t.Helper()
	prom, src := sc.prom, sc.src
	waitScraped(t, ctx, prom, time.Now(), pods)
	results, err := src.Refresh(ctx, source.RefreshSpec{})
	if err != nil {
		t.Fatalf("step %d: %v", step, err)
	}
	at := results[key].CollectedAt
	// Prometheus has scraped this step's exposition before at, as we have.
	waitScraped(t, ctx, prom, at, pods)
	for name, q := range queries {
		v, _, _, err := prom.API.Query(ctx, q, at)
		if err != nil {
			t.Fatalf("step %d: %s on Prometheus: %v", step, name, err)
		}
		if got, want := ours(results[name]), theirs(v); !same(got, want) {
			t.Errorf("step %d: %s at %s:\n ours   %v (Error %v)\n theirs %v", step, name, at.Format(time.RFC3339Nano), got, results[name].Error, want)
		}
	}
}
