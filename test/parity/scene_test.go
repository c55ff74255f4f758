package parity

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"path/filepath"
	"strings"
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
	prom *promserver.Server
	src  *pod.PodScrapingSource
}

// startScene starts the pods named names (each answering with handler(name)), their
// Service, the Prometheus server scraping them and a pod source with queries registered
// (name to PromQL). prefix names the namespace.
func startScene(t *testing.T, ctx context.Context, prefix string, names []string, handler func(name string) http.Handler, queries map[string]string) scene {
	t.Helper()
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
		mustPod(t, ctx, localcluster.PodSpec{Namespace: ns, Name: name, Labels: maps.Clone(selector), IP: ips[i], Ready: true})
	}
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := localcluster.WriteKubeconfig(cp.Config, ns, kubeconfig); err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	prom, err := promserver.Start(ctx, promserver.Options{
		Config: promserver.PodScrapeConfig(kubeconfig, time.Second,
			promserver.PodJob{Name: "vllm", Namespace: ns, Selector: "app=vllm", Port: port}),
		Log: &syncWriter{b: &log},
	})
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	t.Cleanup(func() {
		_ = prom.Stop()
		if t.Failed() {
			t.Logf("prometheus log:\n%s", log.String())
		}
	})
	src, err := pod.NewPodScrapingSource(ctx, cp.Client, pod.PodScrapingSourceConfig{
		ServiceName: "vllm", ServiceNamespace: ns, MetricsPort: int32(port),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(src.Close)
	for name, q := range queries {
		if err := src.QueryList().Register(source.QueryTemplate{Name: name, Type: source.QueryTypePromQL, Template: q}); err != nil {
			t.Fatal(err)
		}
	}
	return scene{prom: prom, src: src}
}
