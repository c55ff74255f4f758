package serve

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podscrape/podscrape/internal/promserver"
	"github.com/podscrape/podscrape/podscrapetest"
	"github.com/podscrape/podscrape/serve"
)

// ownMetrics reads serve's /metrics at base: its text, and each series' value by
// `name{label="value",...}`, the labels sorted and service left out (a server of one
// Service here); a histogram by its _count.
func ownMetrics(t *testing.T, base string) ([]byte, map[string]float64) {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	text, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %d %v", resp.StatusCode, err)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := parser.TextToMetricFamilies(bytes.NewReader(text))
	if err != nil {
		t.Fatalf("/metrics does not parse: %v\n%s", err, text)
	}
	values := map[string]float64{}
	for name, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var ls []string
			for _, l := range m.GetLabel() {
				if l.GetName() != "service" {
					ls = append(ls, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
				}
			}
			slices.Sort(ls)
			key := name + "{" + strings.Join(ls, ",") + "}"
			switch {
			case m.Counter != nil:
				values[key] = m.GetCounter().GetValue()
			case m.Gauge != nil:
				values[key] = m.GetGauge().GetValue()
			case m.Histogram != nil:
				values[name+"_count{"+strings.Join(ls, ",")+"}"] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return text, values
}

// ask sends a GET of path with params to base, and returns the status.
func ask(t *testing.T, base, path string, params url.Values) int {
	t.Helper()
	resp, err := http.Get(base + path + "?" + params.Encode())
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// hang answers no scrape: it holds each until the scraper gives up.
var hang = http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() })

// openMetrics answers body as OpenMetrics.
func openMetrics(body string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/openmetrics-text; version=1.0.0; charset=utf-8")
		_, _ = io.WriteString(w, body)
	})
}

// TestEveryFailureModeMovesItsMetric makes each failure docs/serve.md and
// docs/library.md name an operator must notice happen, with a real API server, real
// loopback pods and a real serve, and reads on serve's /metrics the series that says so:
// exported before the failure (a series born at its first failure has no baseline, and
// increase(...) > 0 misses that failure), and moved by it. Each exposition read passes
// promtool check metrics, every family present.
func TestEveryFailureModeMovesItsMetric(t *testing.T) {
	bin := promserver.MustPromtool(t)
	ms := func(d time.Duration) int64 { return time.Now().Add(d).UnixMilli() }
	for _, tc := range []struct {
		name  string
		body  string                     // the pod's exposition before the failure
		setup func(*serve.ServiceConfig) // limits
		allow bool                       // AllowPartialWindows
		token bool                       // the pods' token read from Secret "reader"
		cause func(t *testing.T, svc *podscrapetest.Service, base string)
		up    []string // series that must increase
		zero  []string // gauges that must fall to 0
		after func(t *testing.T, after map[string]float64)
	}{
		{
			name: "a pod answering 500",
			cause: func(_ *testing.T, svc *podscrapetest.Service, _ string) {
				svc.Pods()[0].SetHandler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "boom", http.StatusInternalServerError) }))
			},
			up: []string{`podscrape_scrape_failures_total{reason="http_status"}`, `podscrape_serve_scrapes_unavailable_total{}`},
		},
		{
			name:  "a pod hanging past its scrape timeout",
			setup: func(sc *serve.ServiceConfig) { sc.Source.ScrapeTimeout = 300 * time.Millisecond },
			cause: func(_ *testing.T, svc *podscrapetest.Service, _ string) { svc.Pods()[0].SetHandler(hang) },
			up:    []string{`podscrape_scrape_failures_total{reason="timeout"}`, `podscrape_serve_scrapes_unavailable_total{}`},
		},
		{
			name:  "a body over the size limit",
			setup: func(sc *serve.ServiceConfig) { sc.Source.MaxBodyBytes = 64 },
			cause: func(_ *testing.T, svc *podscrapetest.Service, _ string) {
				svc.Pods()[0].SetBody("load 1\n" + strings.Repeat("# padding\n", 10))
			},
			up: []string{`podscrape_scrape_failures_total{reason="body_too_large"}`},
		},
		{
			name:  "samples over the sample limit",
			setup: func(sc *serve.ServiceConfig) { sc.Source.SampleLimit = 2 },
			cause: func(_ *testing.T, svc *podscrapetest.Service, _ string) { svc.Pods()[0].SetBody("load 1\nb 1\nc 1\n") },
			up:    []string{`podscrape_scrape_failures_total{reason="sample_limit"}`},
		},
		{
			name:  "an exposition that does not parse",
			cause: func(_ *testing.T, svc *podscrapetest.Service, _ string) { svc.Pods()[0].SetBody("load one\n") },
			up:    []string{`podscrape_scrape_failures_total{reason="parse"}`},
		},
		{
			name: "no Ready pod",
			cause: func(t *testing.T, svc *podscrapetest.Service, base string) {
				if err := svc.Pods()[0].SetReady(t.Context(), false); err != nil {
					t.Fatal(err)
				}
				// The informer sees it when the scrape finds no pod to scrape.
				deadline := time.Now().Add(30 * time.Second)
				for ask(t, base, "/api/v1/query", url.Values{"query": {"load"}}) == http.StatusOK {
					if time.Now().After(deadline) {
						t.Fatal("the pod not Ready still answered after 30s")
					}
					time.Sleep(20 * time.Millisecond) // polling the informer's cache
				}
			},
			up:   []string{`podscrape_serve_scrapes_unavailable_total{}`},
			zero: []string{`podscrape_pods_ready{}`},
		},
		{
			name: "the Service deleted",
			cause: func(t *testing.T, svc *podscrapetest.Service, base string) {
				obj := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: svc.Namespace, Name: svc.Name}}
				if err := env.Client.Delete(t.Context(), obj); err != nil {
					t.Fatal(err)
				}
				deadline := time.Now().Add(30 * time.Second)
				for ask(t, base, "/api/v1/query", url.Values{"query": {"load"}}) == http.StatusOK {
					if time.Now().After(deadline) {
						t.Fatal("the deleted Service still answered after 30s")
					}
					time.Sleep(20 * time.Millisecond) // polling the informer's cache
				}
			},
			up:   []string{`podscrape_discovery_failures_total{}`, `podscrape_serve_scrapes_unavailable_total{}`},
			zero: []string{`podscrape_pods_ready{}`},
		},
		{
			// No token then, as the guide says of a Secret gone; the pod refuses the scrape.
			name:  "the token Secret deleted",
			token: true,
			cause: func(t *testing.T, svc *podscrapetest.Service, base string) {
				obj := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: svc.Namespace, Name: "reader"}}
				if err := env.Client.Delete(t.Context(), obj); err != nil {
					t.Fatal(err)
				}
				deadline := time.Now().Add(30 * time.Second)
				for ask(t, base, "/api/v1/query", url.Values{"query": {"load"}}) == http.StatusOK {
					if time.Now().After(deadline) {
						t.Fatal("the Service whose token Secret was deleted still answered after 30s")
					}
					time.Sleep(20 * time.Millisecond) // polling the informer's cache
				}
			},
			up: []string{`podscrape_scrape_failures_total{reason="http_status"}`, `podscrape_serve_scrapes_unavailable_total{}`},
		},
		{
			name:  "a repeated series",
			cause: func(_ *testing.T, svc *podscrapetest.Service, _ string) { svc.Pods()[0].SetBody("load 1\nload 2\n") },
			up:    []string{`podscrape_samples_duplicate_total{}`},
		},
		{
			name: "a timestamp out of bounds",
			cause: func(_ *testing.T, svc *podscrapetest.Service, _ string) {
				svc.Pods()[0].SetHandler(openMetrics("# TYPE load gauge\nload 1\n# TYPE far gauge\nfar 1 1e300\n# EOF\n"))
			},
			up: []string{`podscrape_samples_duplicate_total{}`},
		},
		{
			name:  "new series past the series limit",
			setup: func(sc *serve.ServiceConfig) { sc.SeriesLimit = 8 },
			cause: func(_ *testing.T, svc *podscrapetest.Service, _ string) {
				var b strings.Builder
				b.WriteString("load 1\n")
				for i := range 10 {
					fmt.Fprintf(&b, "x%d 1\n", i)
				}
				svc.Pods()[0].SetBody(b.String())
			},
			up: []string{`podscrape_serve_history_samples_refused_total{reason="series_limit"}`, `podscrape_serve_history_series{}`},
			after: func(t *testing.T, after map[string]float64) {
				if held, limit := after[`podscrape_serve_history_series{}`], after[`podscrape_serve_history_series_limit{}`]; held != 8 || limit != 8 {
					t.Errorf("the history full: podscrape_serve_history_series %v, podscrape_serve_history_series_limit %v, want 8 and 8", held, limit)
				}
			},
		},
		{
			name: "a sample too far ahead",
			cause: func(_ *testing.T, svc *podscrapetest.Service, _ string) {
				svc.Pods()[0].SetBody(fmt.Sprintf("load 1\nahead 1 %d\n", ms(time.Hour)))
			},
			up: []string{`podscrape_serve_history_samples_refused_total{reason="too_far_ahead"}`},
		},
		{
			name: "a sample out of order",
			body: fmt.Sprintf("load 1 %d\n", ms(-30*time.Second)),
			cause: func(_ *testing.T, svc *podscrapetest.Service, _ string) {
				svc.Pods()[0].SetBody(fmt.Sprintf("load 1 %d\n", ms(-time.Minute)))
			},
			up: []string{`podscrape_serve_history_samples_refused_total{reason="out_of_order"}`},
		},
		{
			name: "a query over a partial window",
			cause: func(t *testing.T, _ *podscrapetest.Service, base string) {
				if code := ask(t, base, "/api/v1/query", url.Values{"query": {"sum(increase(load[10m]))"}}); code != http.StatusUnprocessableEntity {
					t.Errorf("increase over 10 minutes of a young history: %d, want 422", code)
				}
				now := time.Now()
				if code := ask(t, base, "/api/v1/query_range", url.Values{"query": {"sum(increase(load[10m]))"},
					"start": {fmt.Sprint(now.Add(-time.Minute).Unix())}, "end": {fmt.Sprint(now.Unix())}, "step": {"15"}}); code != http.StatusUnprocessableEntity {
					t.Errorf("a range of increase over 10 minutes of a young history: %d, want 422", code)
				}
			},
			up: []string{`podscrape_serve_queries_total{endpoint="query",error_type="execution"}`, `podscrape_serve_queries_total{endpoint="query_range",error_type="execution"}`,
				`podscrape_serve_partial_window_queries_total{}`},
		},
		{
			name: "an instant query at a time before the history",
			cause: func(t *testing.T, _ *podscrapetest.Service, base string) {
				if code := ask(t, base, "/api/v1/query", url.Values{"query": {"sum(load)"}, "time": {fmt.Sprint(time.Now().Add(-time.Hour).Unix())}}); code != http.StatusUnprocessableEntity {
					t.Errorf("sum(load) an hour before the history: %d, want 422", code)
				}
			},
			up: []string{`podscrape_serve_queries_total{endpoint="query",error_type="execution"}`, `podscrape_serve_partial_window_queries_total{}`},
		},
		{
			name: "a rate over a partial window, estimated over the span held",
			cause: func(t *testing.T, _ *podscrapetest.Service, base string) {
				if code := ask(t, base, "/api/v1/query", url.Values{"query": {"sum(rate(load[10m]))"}}); code != http.StatusOK {
					t.Errorf("rate over 10 minutes of a young history: %d, want 200 with a warning", code)
				}
			},
			up: []string{`podscrape_serve_partial_window_queries_total{}`},
		},
		{
			name:  "a partial window allowed",
			allow: true,
			cause: func(t *testing.T, _ *podscrapetest.Service, base string) {
				if code := ask(t, base, "/api/v1/query", url.Values{"query": {"sum(increase(load[10m]))"}}); code != http.StatusOK {
					t.Errorf("increase over 10 minutes of a young history, partial windows allowed: %d, want 200 with a warning", code)
				}
			},
			up: []string{`podscrape_serve_partial_window_queries_total{}`},
		},
		{
			name: "a query that does not parse",
			cause: func(t *testing.T, _ *podscrapetest.Service, base string) {
				if code := ask(t, base, "/api/v1/query", url.Values{"query": {"sum("}}); code != http.StatusBadRequest {
					t.Errorf("sum(: %d, want 400", code)
				}
			},
			up: []string{`podscrape_serve_queries_total{endpoint="query",error_type="bad_data"}`},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := tc.body
			if body == "" {
				body = "load 1\n"
			}
			svc := newService(t, podscrapetest.ServiceOptions{Name: "vllm", Pods: 1, Body: body})
			sc := serve.ServiceConfig{Source: sourceConfig(svc)}
			if tc.token {
				if err := env.Client.Create(t.Context(), &corev1.Secret{
					ObjectMeta: metav1.ObjectMeta{Namespace: svc.Namespace, Name: "reader"},
					Data:       map[string][]byte{"token": []byte("t0k3n")},
				}); err != nil {
					t.Fatal(err)
				}
				sc.Source.MetricsReaderSecretName = "reader"
				svc.Pods()[0].SetHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if r.Header.Get("Authorization") != "Bearer t0k3n" {
						http.Error(w, "Unauthorized", http.StatusUnauthorized)
						return
					}
					_, _ = io.WriteString(w, body)
				}))
			}
			if tc.setup != nil {
				tc.setup(&sc)
			}
			base := startServe(t, serve.Config{Services: []serve.ServiceConfig{sc}, Interval: time.Hour, MaxAge: time.Nanosecond, AllowPartialWindows: tc.allow})
			if code := ask(t, base, "/api/v1/query", url.Values{"query": {"load"}}); code != http.StatusOK {
				t.Fatalf("before the failure: query load answered %d, want 200", code)
			}
			_, before := ownMetrics(t, base)
			tc.cause(t, svc, base)
			_ = ask(t, base, "/api/v1/query", url.Values{"query": {"load"}}) // a scrape after it
			text, after := ownMetrics(t, base)
			for _, s := range tc.up {
				b, ok := before[s]
				switch {
				case !ok:
					t.Errorf("%s not exported before the failure: increase(...) > 0 misses its first one", s)
				case after[s] <= b:
					t.Errorf("%s: %v before, %v after the failure, want it to increase", s, b, after[s])
				}
			}
			for _, s := range tc.zero {
				if before[s] == 0 || after[s] != 0 {
					t.Errorf("%s: %v before, %v after the failure, want it to fall to 0", s, before[s], after[s])
				}
			}
			if tc.after != nil {
				tc.after(t, after)
			}
			cmd := exec.CommandContext(t.Context(), bin, "check", "metrics")
			cmd.Stdin = bytes.NewReader(text)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("promtool check metrics on serve's /metrics: %v\n%s", err, out)
			}
		})
	}
}
