package serve

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/podscrape/podscrape/podscrapetest"
	"github.com/podscrape/podscrape/serve"
)

// apiCounter counts the API requests made through a rest.Config it wraps; a WATCH
// (one long request per informer) is counted apart from the others.
type apiCounter struct {
	mu       sync.Mutex // protects requests
	requests []string
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func (c *apiCounter) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripperFunc(func(r *http.Request) (*http.Response, error) {
		req := r.Method + " " + r.URL.Path
		if r.URL.Query().Get("watch") == "true" {
			req = "WATCH " + r.URL.Path
		}
		c.mu.Lock()
		c.requests = append(c.requests, req)
		c.mu.Unlock()
		return rt.RoundTrip(r)
	})
}

// take returns the requests since the last take.
func (c *apiCounter) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.requests
	c.requests = nil
	return out
}

// scrapesOf reads podscrape_serve_scrapes_total from serve's /metrics: its scrapes since
// it started (the interval's and those --max-age asked for).
func scrapesOf(t testing.TB, base string) float64 {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for line := range strings.Lines(string(body)) {
		if strings.HasPrefix(line, "podscrape_serve_scrapes_total{") {
			f, _ := strconv.ParseFloat(strings.TrimSpace(line[strings.LastIndexByte(line, ' '):]), 64)
			return f
		}
	}
	t.Fatal("no podscrape_serve_scrapes_total")
	return 0
}

// activePods returns the pod labels of /api/v1/targets' active targets, sorted.
func activePods(t *testing.T, base string) []string {
	t.Helper()
	resp, err := http.Get(base + "/api/v1/targets")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Data struct {
			ActiveTargets []struct {
				Labels map[string]string `json:"labels"`
			} `json:"activeTargets"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	var pods []string
	for _, tg := range body.Data.ActiveTargets {
		pods = append(pods, tg.Labels["pod"])
	}
	slices.Sort(pods)
	return pods
}

// TestServeScrapesReadNoAPIOnceSynced runs serve as the CLI does, on serve.StartCache's
// informers, with every API request counted: once synced, scrapes make no request (no
// Service GET, no pod LIST; the informers' WATCHes stay open), and a pod turning unready
// still leaves the next scrapes once its WATCH event arrives.
func TestServeScrapesReadNoAPIOnceSynced(t *testing.T) {
	svc := newService(t, podscrapetest.ServiceOptions{Name: "vllm", Pods: 3})
	ctx := logr.NewContext(t.Context(), logr.Discard())
	counter := &apiCounter{}
	cfg := rest.CopyConfig(env.Config)
	cfg.Wrap(counter.wrap)
	services := []serve.ServiceConfig{{Source: sourceConfig(svc)}}
	informers, err := serve.StartCache(ctx, cfg, services)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(informers.Stop)
	srv, err := serve.New(ctx, informers, serve.Config{Services: services, Interval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Run(runCtx) }()
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		hs.Close()
		cancel()
		<-done
		_ = srv.Close()
	})
	waitReady(t, hs.URL)

	counter.take()
	first := scrapesOf(t, hs.URL)
	deadline := time.Now().Add(30 * time.Second)
	for scrapesOf(t, hs.URL) < first+5 {
		if time.Now().After(deadline) {
			t.Fatal("serve did not scrape 5 times in 30s")
		}
		time.Sleep(10 * time.Millisecond) // polling serve's scrape count
	}
	for _, req := range counter.take() {
		if !strings.HasPrefix(req, "WATCH ") {
			t.Errorf("API request during 5 synced scrapes: %s, want none (Services and Pods from the informers)", req)
		}
	}

	gone := svc.Pods()[0]
	if err := gone.SetReady(ctx, false); err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, p := range svc.Pods()[1:] {
		want = append(want, p.Name)
	}
	slices.Sort(want)
	deadline = time.Now().Add(30 * time.Second)
	for {
		got := activePods(t, hs.URL)
		if slices.Equal(got, want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("targets 30s after pod %s turned unready: %v, want %v", gone.Name, got, want)
		}
		time.Sleep(10 * time.Millisecond) // polling the informers' lag
	}
}

// TestStartCacheRefusesWithoutWatch: an identity that may get and list pods and
// Services but not watch them (its informers would sync once, then go stale) gets an
// AccessError naming the verb, the resource and the namespace, before any informer runs.
func TestStartCacheRefusesWithoutWatch(t *testing.T) {
	svc := newService(t, podscrapetest.ServiceOptions{Name: "vllm", Pods: 1})
	ctx := logr.NewContext(t.Context(), logr.Discard())
	cfg := impersonateWith(t, ctx, svc.Namespace, "nowatch", "get", "list")
	informers, err := serve.StartCache(ctx, cfg, []serve.ServiceConfig{{Source: sourceConfig(svc)}})
	if err == nil {
		informers.Stop()
		t.Fatal("StartCache without watch on pods and services: synced, want an AccessError")
	}
	var accessErr *serve.AccessError
	if !errors.As(err, &accessErr) || accessErr.Verb != "watch" || accessErr.Namespace != svc.Namespace {
		t.Errorf("StartCache without watch: %v, want an AccessError for watch in %s", err, svc.Namespace)
	}
}

// impersonateWith returns the admin config impersonating ServiceAccount namespace/name,
// bound (until the test ends) to a ClusterRole of verbs on services and pods only.
func impersonateWith(t *testing.T, ctx context.Context, namespace, name string, verbs ...string) *rest.Config {
	t.Helper()
	roleName := "podscrape-" + name + "-" + namespace
	role := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: roleName},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"services", "pods"}, Verbs: verbs}},
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: roleName},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: roleName},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: namespace, Name: name}},
	}
	for _, o := range []client.Object{role, binding} {
		if err := env.Client.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = env.Client.Delete(context.WithoutCancel(ctx), o) })
	}
	cfg := rest.CopyConfig(env.Config)
	cfg.Impersonate = rest.ImpersonationConfig{
		UserName: "system:serviceaccount:" + namespace + ":" + name,
		Groups:   []string{"system:serviceaccounts", "system:authenticated"},
	}
	return cfg
}

// TestStartCacheEndsWithItsContext: a context that ends before the informers synced
// ends StartCache with a CacheSyncError naming the namespace and wrapping the context's
// error, not a wait until CacheSyncTimeout.
func TestStartCacheEndsWithItsContext(t *testing.T) {
	svc := newService(t, podscrapetest.ServiceOptions{Name: "vllm", Pods: 1})
	ctx, cancel := context.WithCancel(logr.NewContext(t.Context(), logr.Discard()))
	cancel()
	informers, err := serve.StartCache(ctx, env.Config, []serve.ServiceConfig{{Source: sourceConfig(svc)}})
	if err == nil {
		informers.Stop()
		t.Fatal("StartCache with an ended context: synced, want a CacheSyncError")
	}
	var syncErr *serve.CacheSyncError
	if !errors.As(err, &syncErr) || !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), svc.Namespace) {
		t.Errorf("StartCache with an ended context: %v, want a CacheSyncError naming %s and wrapping context.Canceled", err, svc.Namespace)
	}
	// RBAC is not the cause here: no RBAC hint (RELIABILITY.md: hints only where RBAC is
	// the cause; StartCache checks access before it starts the informers).
	if strings.Contains(err.Error(), "needs") {
		t.Errorf("StartCache with an ended context: %v, want no RBAC hint", err)
	}
}

// TestCacheSyncErrorHintsRBACOnlyWhenForbidden: the informers' last error decides the
// hint; a refused connection is no RBAC matter.
func TestCacheSyncErrorHintsRBACOnlyWhenForbidden(t *testing.T) {
	forbidden := &serve.CacheSyncError{Namespaces: []string{"llm-d"}, Err: apierrors.NewForbidden(corev1.Resource("pods"), "", errors.New("no"))}
	if !strings.Contains(forbidden.Error(), "needs list and watch on services and pods") {
		t.Errorf("forbidden: %q, want the RBAC hint", forbidden.Error())
	}
	refused := &serve.CacheSyncError{Namespaces: []string{"llm-d"}, Err: errors.New("dial tcp 127.0.0.1:6443: connect: connection refused")}
	if strings.Contains(refused.Error(), "needs") {
		t.Errorf("refused: %q, want no RBAC hint", refused.Error())
	}
}
