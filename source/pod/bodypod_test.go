package pod

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	"github.com/podscrape/podscrape/internal/localcluster"
	"github.com/podscrape/podscrape/source"
)

// bodyPod is one Ready pod behind a Service of a namespace of its own, answering the
// exposition the test sets, or 500 while failing.
type bodyPod struct {
	mu   sync.Mutex // protects body, fail
	body string
	fail bool
}

func (p *bodyPod) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fail {
		http.Error(w, "down", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	_, _ = fmt.Fprint(w, p.body)
}

func (p *bodyPod) set(body string, fail bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.body, p.fail = body, fail
}

// startBodyPod starts a pod answering body and returns it with a source config for its
// Service (no clock set).
func startBodyPod(t *testing.T, body string) (*bodyPod, PodScrapingSourceConfig) {
	t.Helper()
	p := &bodyPod{body: body}
	return p, startHandlerPod(t, p)
}

// startHandlerPod starts one Ready pod served by h behind a Service of a namespace of its
// own and returns a source config for it.
func startHandlerPod(t *testing.T, h http.Handler) PodScrapingSourceConfig {
	t.Helper()
	ctx := context.Background()
	ns := fmt.Sprintf("pod-%d", runs.Add(1)) // unique under -count
	if err := cp.CreateNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	ip := localcluster.NewAddressBlock().Next()
	srv, err := localcluster.Serve(ip, 0, h)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return onePodBehind(t, ns, ip, srv.Port)
}

// onePodBehind makes a Service "pod" in namespace ns selecting one Ready pod "p" at ip,
// its metrics on port, and returns a source config for it.
func onePodBehind(t *testing.T, ns, ip string, port int) PodScrapingSourceConfig {
	t.Helper()
	ctx := context.Background()
	sel := map[string]string{"app": "pod"}
	if err := cp.CreateService(ctx, ns, "pod", sel, int32(port)); err != nil {
		t.Fatal(err)
	}
	if _, err := cp.CreatePod(ctx, localcluster.PodSpec{Namespace: ns, Name: "p", Labels: sel, IP: ip, Ready: true}); err != nil {
		t.Fatal(err)
	}
	return PodScrapingSourceConfig{ServiceName: "pod", ServiceNamespace: ns, MetricsPort: int32(port)}
}

// checkNewSource builds a source of cfg and closes it, returning NewPodScrapingSource's
// error; want "" asks for none, else an error containing want.
func checkNewSource(t *testing.T, cfg PodScrapingSourceConfig, want string) error {
	t.Helper()
	s, err := NewPodScrapingSource(context.Background(), cp.Client, cfg)
	if err == nil {
		s.Close()
	}
	switch {
	case want == "" && err != nil:
		t.Fatalf("got %v, want no error", err)
	case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
		t.Fatalf("got %v, want an error containing %q", err, want)
	}
	return err
}

// scrapeOnePod scrapes cfg's Service once through ScrapeSeries with a source that lives
// until the test ends, and returns its one pod, which must be up.
func scrapeOnePod(t *testing.T, cfg PodScrapingSourceConfig) PodSeries {
	t.Helper()
	s, err := NewPodScrapingSource(context.Background(), cp.Client, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	pods, err := s.ScrapeSeries(context.Background())
	if err != nil || len(pods) != 1 || !pods[0].Up {
		t.Fatalf("ScrapeSeries: %+v, %v; want the pod up", pods, err)
	}
	return pods[0]
}

// fakeClockSource starts a source on cfg whose clock is a fake one at t0, with queries
// registered as PromQL queries, and returns both; the test closes the source.
func fakeClockSource(t *testing.T, cfg PodScrapingSourceConfig, t0 time.Time, queries []source.QueryTemplate) (*PodScrapingSource, *clocktesting.FakeClock) {
	t.Helper()
	clk := clocktesting.NewFakeClock(t0)
	cfg.Clock = clk
	s, err := NewPodScrapingSource(context.Background(), cp.Client, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	for _, q := range queries {
		q.Type = source.QueryTypePromQL
		s.QueryList().MustRegister(q)
	}
	return s, clk
}

// servePods serves each of ips with handler's answer for it, on loopback, until the
// test ends, and creates the Service svc of ns selecting the pods labelled app=svc on
// their port; it returns the port and that selector.
func servePods(t *testing.T, ctx context.Context, ns, svc string, ips []string, handler func(ip string) http.Handler) (int32, map[string]string) {
	t.Helper()
	servers, err := localcluster.ServeAll(ips, handler)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, s := range servers {
			_ = s.Close()
		}
	})
	port := int32(servers[0].Port)
	sel := map[string]string{"app": svc}
	if err := cp.CreateService(ctx, ns, svc, sel, port); err != nil {
		t.Fatal(err)
	}
	return port, sel
}

// mustRefresh refreshes every query of s, failing the test on an error.
func mustRefresh(t *testing.T, s *PodScrapingSource) map[string]*source.MetricResult {
	t.Helper()
	rs, err := s.Refresh(context.Background(), source.RefreshSpec{})
	if err != nil {
		t.Fatal(err)
	}
	return rs
}
