package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/podscrape/podscrape/internal/localcluster"
	"github.com/podscrape/podscrape/source"
	"github.com/podscrape/podscrape/source/pod"
)

var nsCounter atomic.Int64

// podDef is one pod of a test Service.
type podDef struct {
	name        string
	handler     http.Handler // nil: no server at all (the address refuses connections)
	notReady    bool
	terminating bool
	ip          string // "": the next address of the test's block
}

// svcFixture is a namespace with one Service, its pods and their servers.
type svcFixture struct {
	ns, svc string
	port    int32
	servers map[string]*localcluster.Server // by pod name
}

// newNamespace creates a namespace unique to t and checks that t leaks no goroutine
// (trackGoroutines).
func newNamespace(t *testing.T) string {
	t.Helper()
	trackGoroutines(t)
	name := strings.ToLower(t.Name())
	name = strings.NewReplacer("/", "-", "_", "-").Replace(name)
	if len(name) > 40 {
		name = name[:40]
	}
	name = strings.Trim(fmt.Sprintf("%s-%d", name, nsCounter.Add(1)), "-")
	if err := cp.CreateNamespace(context.Background(), name); err != nil {
		t.Fatal(err)
	}
	return name
}

// startService starts a server per pod (all on one port), creates the pods with their
// loopback IPs and a Service "metrics" selecting app=<svc>.
func startService(t *testing.T, pods ...podDef) *svcFixture {
	t.Helper()
	ctx := context.Background()
	f := &svcFixture{ns: newNamespace(t), svc: "metrics", servers: map[string]*localcluster.Server{}}
	block := localcluster.NewAddressBlock()
	var ips []string
	var handlers []http.Handler
	for i := range pods {
		if pods[i].ip == "" {
			pods[i].ip = block.Next()
		}
		if pods[i].handler != nil {
			ips = append(ips, pods[i].ip)
			handlers = append(handlers, pods[i].handler)
		}
	}
	byIP := map[string]http.Handler{}
	for i, ip := range ips {
		byIP[ip] = handlers[i]
	}
	servers, err := localcluster.ServeAll(ips, func(ip string) http.Handler { return byIP[ip] })
	if err != nil {
		t.Fatal(err)
	}
	port := 0
	for _, s := range servers {
		port = s.Port
		t.Cleanup(func() { _ = s.Close() })
	}
	if port == 0 {
		port = 9 // no server: the discard port, refused on loopback
	}
	f.port = int32(port)
	for i := range pods {
		for _, s := range servers {
			if s.IP == pods[i].ip {
				f.servers[pods[i].name] = s
			}
		}
	}
	selector := map[string]string{"app": f.svc}
	if err := cp.CreateService(ctx, f.ns, f.svc, selector, f.port); err != nil {
		t.Fatal(err)
	}
	for _, p := range pods {
		if _, err := cp.CreatePod(ctx, localcluster.PodSpec{
			Namespace: f.ns, Name: p.name, Labels: selector, IP: p.ip,
			Ready: !p.notReady, Terminating: p.terminating,
		}); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { _ = cp.ReleaseTerminating(context.Background(), f.ns) })
	return f
}

// config is the minimal config of the fixture's Service.
func (f *svcFixture) config() pod.PodScrapingSourceConfig {
	return pod.PodScrapingSourceConfig{ServiceName: f.svc, ServiceNamespace: f.ns, MetricsPort: f.port}
}

// newSource builds a source on the admin client and closes it when t ends.
func newSource(t *testing.T, cfg pod.PodScrapingSourceConfig) *pod.PodScrapingSource {
	t.Helper()
	s, err := pod.NewPodScrapingSource(context.Background(), cp.Client, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// refresh runs Refresh with a test deadline.
func refresh(t *testing.T, s source.MetricsSource, queries ...string) (map[string]*source.MetricResult, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return s.Refresh(ctx, source.RefreshSpec{Queries: queries})
}

// mustRefresh is refresh that fails the test on error and returns all_metrics.
func mustRefresh(t *testing.T, s source.MetricsSource) *source.MetricResult {
	t.Helper()
	results, err := refresh(t, s)
	if err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	r := results[pod.AllMetricsQuery]
	if r == nil {
		t.Fatalf("Refresh: no %s result in %v", pod.AllMetricsQuery, results)
	}
	return r
}

// fixture reads a real exposition from testdata/.
func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const textFormat = "text/plain; version=0.0.4; charset=utf-8"

// serve answers every request with body as the text format.
func serve(body []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", textFormat)
		_, _ = w.Write(body)
	})
}

// samples returns the values named name, by pod.
func samples(r *source.MetricResult, name string) map[string][]source.MetricValue {
	out := map[string][]source.MetricValue{}
	for _, v := range r.Values {
		if v.Labels["__name__"] == name {
			out[v.Labels["pod"]] = append(out[v.Labels["pod"]], v)
		}
	}
	return out
}

// upByPod returns each pod's up value.
func upByPod(r *source.MetricResult) map[string]float64 {
	out := map[string]float64{}
	for p, vs := range samples(r, "up") {
		out[p] = vs[0].Value
	}
	return out
}

func keyOf(ns, name string) client.ObjectKey { return client.ObjectKey{Namespace: ns, Name: name} }

// recorder is a handler that serves body and remembers every request it saw.
type recorder struct {
	body        []byte
	contentType string

	mu       sync.Mutex // protects requests
	requests []*http.Request
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec.mu.Lock()
	rec.requests = append(rec.requests, r.Clone(context.Background()))
	rec.mu.Unlock()
	ct := rec.contentType
	if ct == "" {
		ct = textFormat
	}
	w.Header().Set("Content-Type", ct)
	_, _ = w.Write(rec.body)
}

// seen returns the requests so far.
func (rec *recorder) seen() []*http.Request {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return slices.Clone(rec.requests)
}

// sourceSpec is a RefreshSpec for all registered queries.
func sourceSpec() source.RefreshSpec { return source.RefreshSpec{} }

// failWith answers every request with the HTTP status code.
func failWith(code int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, http.StatusText(code), code)
	})
}
