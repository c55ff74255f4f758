package serve_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/podscrape/podscrape/podscrapetest"
	"github.com/podscrape/podscrape/serve"
)

// unreadyBenchBody is what each pod of BenchmarkQueryUnreadyPods serves: a vLLM pod's
// queue gauges and a latency histogram of one model, 14 series.
const unreadyBenchBody = `# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{model_name="m"} 3
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{model_name="m"} 2
# TYPE vllm:e2e_request_latency_seconds histogram
vllm:e2e_request_latency_seconds_bucket{model_name="m",le="0.1"} 1
vllm:e2e_request_latency_seconds_bucket{model_name="m",le="0.5"} 2
vllm:e2e_request_latency_seconds_bucket{model_name="m",le="1"} 3
vllm:e2e_request_latency_seconds_bucket{model_name="m",le="2"} 4
vllm:e2e_request_latency_seconds_bucket{model_name="m",le="5"} 5
vllm:e2e_request_latency_seconds_bucket{model_name="m",le="10"} 6
vllm:e2e_request_latency_seconds_bucket{model_name="m",le="20"} 7
vllm:e2e_request_latency_seconds_bucket{model_name="m",le="60"} 8
vllm:e2e_request_latency_seconds_bucket{model_name="m",le="+Inf"} 9
vllm:e2e_request_latency_seconds_sum{model_name="m"} 10
vllm:e2e_request_latency_seconds_count{model_name="m"} 9
`

// BenchmarkQueryUnreadyPods measures serve at 200 and 2,000 pods while half the pods of
// its Service are not Ready (failing their readiness probe under load): the ratio of the
// two sizes is each cost's growth with the pods, about 10 when linear. An instant query
// checks, per pod no longer scraped, whether the history holds a series its selectors
// read (the warning naming them), with a selector with a regular expression (a Grafana
// variable's model_name=~"$model") and one without; then /api/v1/targets, /federate,
// a label's values and a scrape.
//
//	go test ./serve -run '^$' -bench QueryUnreadyPods -benchtime 20x
func BenchmarkQueryUnreadyPods(b *testing.B) {
	for _, pods := range []int{200, 2000} {
		b.Run(fmt.Sprintf("pods=%d", pods), func(b *testing.B) {
			svc, err := env.NewService(b.Context(), podscrapetest.ServiceOptions{Name: "unready", Pods: pods, Body: unreadyBenchBody})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = svc.Close() })
			srv, err := serve.New(b.Context(), env.Client, serve.Config{
				Services: []serve.ServiceConfig{serviceConfig(svc)}, Interval: 4 * time.Minute, AllowPartialWindows: true,
			})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = srv.Close() })
			serve.ScrapeNow(b.Context(), srv)
			// Half the pods turn not Ready: the next scrape leaves them out.
			var wg sync.WaitGroup
			errs := make(chan error, 8)
			all := svc.Pods()
			for w := range 8 {
				wg.Go(func() {
					for i := w; i < len(all)/2; i += 8 {
						if err := all[i].SetReady(b.Context(), false); err != nil {
							errs <- err
							return
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				b.Fatal(err)
			}
			serve.ScrapeNow(b.Context(), srv)
			h := srv.Handler()
			get := func(b *testing.B, path, want string) {
				b.ReportAllocs()
				for b.Loop() {
					w := httptest.NewRecorder()
					h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
					if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), want) {
						b.Fatalf("%s: %d %.500s", path, w.Code, w.Body)
					}
				}
			}
			unready := fmt.Sprintf(`%d pods holding series the query reads are no longer scraped`, pods/2)
			for _, sel := range []struct{ name, query string }{
				{"query-equal", `sum(vllm:num_requests_waiting{model_name="m"})`},
				{"query-regexp", `sum(vllm:num_requests_waiting{model_name=~"m|n"})`},
			} {
				b.Run(sel.name, func(b *testing.B) { get(b, "/api/v1/query?"+url.Values{"query": {sel.query}}.Encode(), unready) })
			}
			// The other reads of every pod: its target, its series' latest samples, a
			// label's values.
			b.Run("targets", func(b *testing.B) { get(b, "/api/v1/targets", `"activeTargets":[{`) })
			b.Run("federate", func(b *testing.B) {
				get(b, "/federate?"+url.Values{"match[]": {`{__name__=~"vllm:.+"}`}}.Encode(), "vllm:num_requests_waiting")
			})
			b.Run("label-values", func(b *testing.B) { get(b, "/api/v1/label/pod/values", `"unready-1"`) })
			// A scrape of the Ready half into the history, the other half's series held.
			b.Run("scrape", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					serve.ScrapeNow(b.Context(), srv)
				}
			})
		})
	}
}
