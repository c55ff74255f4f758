package serve_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/podscrape/podscrape/podscrapetest"
	"github.com/podscrape/podscrape/serve"
	"github.com/podscrape/podscrape/source"
	"github.com/podscrape/podscrape/source/llmd"
)

// BenchmarkAutoscalerQueries measures serve answering the workload-variant-autoscaler's
// vLLM queries (llmd.VLLMQueries) over a history of 20 vLLM pods scraped 300 times or
// more (as many samples a series as 5 minutes of 1 s scrapes):
// one op is every query asked once through the Handler, as an HTTP client asks it (the
// request parsed, the expression analysed and evaluated, the answer encoded), with no
// scrape in between (the scrape loop is stopped first).
//
//	go test ./serve -run '^$' -bench AutoscalerQueries -benchtime 200x
func BenchmarkAutoscalerQueries(b *testing.B) {
	const pods, scrapes = 20, 300
	fixture, err := os.ReadFile(filepath.Join("..", "testdata", "vllm-sim-metrics.txt"))
	if err != nil {
		b.Fatal(err)
	}
	svc, err := env.NewService(b.Context(), podscrapetest.ServiceOptions{Name: "bench", Pods: pods, Body: string(fixture)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = svc.Close() })
	srv, err := serve.New(b.Context(), env.Client, serve.Config{
		Services:            []serve.ServiceConfig{serviceConfig(svc)},
		Interval:            10 * time.Millisecond,
		AllowPartialWindows: true,
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = srv.Close() })
	h := srv.Handler()
	ctx, cancel := context.WithCancel(b.Context())
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Run(ctx) }()
	// Until every pod's up has that many samples in the last 5 minutes.
	held := url.Values{"query": {`min(count_over_time(up[5m])) >= ` + strconv.Itoa(scrapes)}}.Encode()
	deadline := time.Now().Add(time.Minute)
	for !answers(h, held, `"result":[{`) {
		if time.Now().After(deadline) {
			b.Fatalf("history not filled after a minute")
		}
		time.Sleep(10 * time.Millisecond) // polling the server's answer, not waiting for time to pass
	}
	cancel()
	<-done

	params := map[string]string{source.ParamNamespace: svc.Namespace, source.ParamModelID: "fake-model", llmd.ParamRetentionPeriod: "1m"}
	var reqs []string
	for _, q := range llmd.VLLMQueries() {
		e, err := source.FillTemplate(q, params)
		if err != nil {
			b.Fatal(err)
		}
		reqs = append(reqs, "/api/v1/query?"+url.Values{"query": {e}}.Encode())
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, u := range reqs {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, u, nil))
			if w.Code != http.StatusOK {
				b.Fatalf("%s: %d %s", u, w.Code, w.Body)
			}
		}
	}
}

// answers reports whether h answers the instant query q (URL-encoded) with a body that
// holds want.
func answers(h http.Handler, q, want string) bool {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/api/v1/query?"+q, nil))
	return w.Code == http.StatusOK && strings.Contains(w.Body.String(), want)
}
