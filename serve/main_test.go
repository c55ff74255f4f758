package serve_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/podscrape/podscrape/podscrapetest"
	"github.com/podscrape/podscrape/serve"
	"github.com/podscrape/podscrape/source/pod"
)

// env is the API server every test's Services live on (each in its own namespace).
var env *podscrapetest.Environment

func TestMain(m *testing.M) {
	code := podscrapetest.Run(m, podscrapetest.Options{}, &env)
	if code == 0 {
		if err := goleak.Find(goleak.IgnoreCurrent()); err != nil {
			fmt.Fprintln(os.Stderr, "leaked goroutines:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// newService creates a Service with pods serving body.
func newService(t *testing.T, name string, pods int, body string) *podscrapetest.Service {
	t.Helper()
	svc, err := env.NewService(t.Context(), podscrapetest.ServiceOptions{Name: name, Pods: pods, Body: body})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svc.Close() })
	return svc
}

// serviceConfig is the ServiceConfig of svc.
func serviceConfig(svc *podscrapetest.Service) serve.ServiceConfig {
	return serve.ServiceConfig{Source: pod.PodScrapingSourceConfig{
		ServiceName: svc.Name, ServiceNamespace: svc.Namespace, MetricsPort: svc.Port,
	}}
}

// startServer runs a Server of cfg (Interval an hour unless set: tests scrape through
// MaxAge, not the clock; without MaxAge, 4 minutes, the longest the default retention
// and lookback delta take) behind a loopback HTTP server and waits until it is ready.
func startServer(t testing.TB, cfg serve.Config) string {
	t.Helper()
	if cfg.Interval == 0 {
		cfg.Interval = time.Hour
		if cfg.MaxAge == 0 {
			cfg.Interval = 4 * time.Minute
		}
	}
	base := runServer(t, t.Context(), cfg)
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(base + "/-/ready")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("server not ready after 30s (last: %v)", err)
		}
		time.Sleep(20 * time.Millisecond) // polling a readiness endpoint, not waiting for time to pass
	}
}

// runServer makes a Server of cfg with newCtx (New's context: its logger), runs it behind
// a loopback HTTP server until the test ends and returns the server's URL, ready or not.
func runServer(t testing.TB, newCtx context.Context, cfg serve.Config) string {
	t.Helper()
	_, base := runServerOf(t, newCtx, cfg)
	return base
}

// runReadyServer is runServer returning the Server too (for tests that set its hooks),
// once it is ready.
func runReadyServer(t testing.TB, cfg serve.Config) (*serve.Server, string) {
	t.Helper()
	srv, base := runServerOf(t, t.Context(), cfg)
	waitReady(t, srv)
	return srv, base
}

// waitReady waits until srv is ready.
func waitReady(t testing.TB, srv *serve.Server) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !srv.Ready() {
		if time.Now().After(deadline) {
			t.Fatal("not ready after 30s")
		}
		time.Sleep(10 * time.Millisecond) // polling readiness
	}
}

// runServerOf is runServer returning the Server too.
func runServerOf(t testing.TB, newCtx context.Context, cfg serve.Config) (*serve.Server, string) {
	t.Helper()
	return runServerWith(t, newCtx, env.Client, cfg)
}

// runServerWith is runServerOf with c as the Server's reader of the API.
func runServerWith(t testing.TB, newCtx context.Context, c client.Reader, cfg serve.Config) (*serve.Server, string) {
	t.Helper()
	srv, err := serve.New(newCtx, c, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Run(ctx) }()
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		hs.Close()
		cancel()
		<-done
		if err := srv.Close(); err != nil {
			t.Error(err)
		}
	})
	return srv, hs.URL
}

// apiResponse is Prometheus' envelope, data kept raw.
type apiResponse struct {
	Status    string          `json:"status"`
	Data      json.RawMessage `json:"data"`
	ErrorType string          `json:"errorType"`
	Error     string          `json:"error"`
	Warnings  []string        `json:"warnings"`
	Infos     []string        `json:"infos"`
}

// call asks path with params over HTTP (GET, or POST with a form) and decodes the
// envelope.
func call(t *testing.T, method, base, path string, params url.Values) (int, apiResponse) {
	t.Helper()
	var resp *http.Response
	var err error
	if method == http.MethodPost {
		resp, err = http.PostForm(base+path, params)
	} else {
		resp, err = http.Get(base + path + "?" + params.Encode())
	}
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var r apiResponse
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatalf("%s %s: %d, body %q is not JSON: %v", method, path, resp.StatusCode, body, err)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("%s %s: Content-Type %q, want application/json", method, path, ct)
	}
	return resp.StatusCode, r
}

// query asks an instant query.
func query(t *testing.T, base, expr string) (int, apiResponse) {
	t.Helper()
	return call(t, http.MethodGet, base, "/api/v1/query", url.Values{"query": {expr}})
}

// vectorSample is one sample of a vector answer.
type vectorSample struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
}

// vector decodes a vector answer.
func vector(t *testing.T, r apiResponse) []vectorSample {
	t.Helper()
	var d struct {
		ResultType string         `json:"resultType"`
		Result     []vectorSample `json:"result"`
	}
	if err := json.Unmarshal(r.Data, &d); err != nil {
		t.Fatalf("data %s: %v", r.Data, err)
	}
	if d.ResultType != "vector" {
		t.Fatalf("resultType %q, want vector", d.ResultType)
	}
	return d.Result
}
