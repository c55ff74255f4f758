package pod

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/podscrape/podscrape/podscrapetest"
	"github.com/podscrape/podscrape/source"
)

// BenchmarkRefreshUnreadyPods measures one Refresh of a PromQL query while half the pods
// of the Service are not Ready (failing their readiness probe under load): the scrape of
// the Ready half, and the check, per pod no longer scraped, of whether the history holds
// a series the query reads (the warning naming them). At 200 and 2,000 pods, the ratio
// of the two is the cost's growth with the pods: about 10 when linear. The query's
// selector has a regular expression (a Grafana variable's model_name=~"$model").
//
//	go test ./source/pod -run '^$' -bench RefreshUnreadyPods -benchtime 10x
func BenchmarkRefreshUnreadyPods(b *testing.B) {
	env, err := podscrapetest.Start(podscrapetest.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = env.Stop() })
	const body = `# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{model_name="m"} 3
# TYPE vllm:e2e_request_latency_seconds histogram
vllm:e2e_request_latency_seconds_bucket{model_name="m",le="1"} 3
vllm:e2e_request_latency_seconds_bucket{model_name="m",le="10"} 6
vllm:e2e_request_latency_seconds_bucket{model_name="m",le="+Inf"} 9
vllm:e2e_request_latency_seconds_sum{model_name="m"} 10
vllm:e2e_request_latency_seconds_count{model_name="m"} 9
`
	for _, pods := range []int{200, 2000} {
		b.Run(fmt.Sprintf("pods=%d", pods), func(b *testing.B) {
			svc, err := env.NewService(b.Context(), podscrapetest.ServiceOptions{Name: "vllm", Pods: pods, Body: body})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = svc.Close() })
			s, err := NewPodScrapingSource(b.Context(), env.Client, PodScrapingSourceConfig{
				ServiceName: svc.Name, ServiceNamespace: svc.Namespace, MetricsPort: svc.Port, MaxConcurrentScrapes: 50,
			})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(s.Close)
			s.QueryList().MustRegister(source.QueryTemplate{Name: "waiting", Type: source.QueryTypePromQL,
				Template: `sum(vllm:num_requests_waiting{model_name=~"m|n"}) + sum(vllm:e2e_request_latency_seconds_count{model_name=~"m|n"})`})
			refresh := func() *source.MetricResult {
				rs, err := s.Refresh(b.Context(), source.RefreshSpec{})
				if err != nil {
					b.Fatal(err)
				}
				return rs["waiting"]
			}
			refresh()
			// Half the pods turn not Ready: the next refreshes leave them out.
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
			want := fmt.Sprintf("%d pods holding series the query reads are no longer scraped", pods/2)
			b.ReportAllocs()
			for b.Loop() {
				if r := refresh(); r.Error != nil || len(r.Warnings) == 0 || !strings.Contains(r.Warnings[0], want) {
					b.Fatalf("error %v, warnings %.300q", r.Error, r.Warnings)
				}
			}
		})
	}
}
