package llmd_test

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	"github.com/podscrape/podscrape/podscrapetest"
	"github.com/podscrape/podscrape/source"
	"github.com/podscrape/podscrape/source/llmd"
	"github.com/podscrape/podscrape/source/pod"
)

// The vLLM queries' windows and aggregations, on data where each choice gives another
// answer: one pod of two data-parallel engines (vLLM's engine label) scraped every 30 s for
// 6 minutes; the gauges peak at 4m30s, again lower at 5m30s, and drop at 6m; the requests, 10 tokens each until
// 5m, are 100 tokens each after.
//   - kv_cache_usage and queue_length are the peak of the last minute (not its mean, not
//     the last value, not an older peak);
//   - avg_output_tokens is over 5 minutes (30 tokens a request, where 1 minute says 100);
//   - generation_token_rate and request_rate sum the pod's engines (not their max).
func TestVLLMQueriesWindowsAndAggregations(t *testing.T) {
	const model = "m"
	ctx := context.Background()
	svc, err := env.NewService(ctx, podscrapetest.ServiceOptions{Name: "engine", PodNames: []string{"engine-0"},
		PodLabels: map[string]map[string]string{"engine-0": {llmd.VariantLabel: "small"}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svc.Close() })
	clk := clocktesting.NewFakeClock(time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC))
	src, err := pod.NewPodScrapingSource(ctx, env.Client, pod.PodScrapingSourceConfig{
		ServiceName: svc.Name, ServiceNamespace: svc.Namespace, MetricsPort: svc.Port, Clock: clk,
		PodLabels: llmd.PodLabels(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(src.Close)
	if err := llmd.Register(src.QueryList(), llmd.VLLMQueries()); err != nil {
		t.Fatal(err)
	}
	// The per-engine rates, to compare the per-instance sums with.
	sel := `{namespace="{{.namespace}}",model_name="{{.modelID}}"}[1m]`
	src.QueryList().MustRegister(source.QueryTemplate{Name: "token_rates", Type: source.QueryTypePromQL,
		Template: `rate(` + llmd.VLLMGenerationTokens + `_sum` + sel + `)`, Params: []string{source.ParamNamespace, source.ParamModelID}})
	src.QueryList().MustRegister(source.QueryTemplate{Name: "request_rates", Type: source.QueryTypePromQL,
		Template: `rate(` + llmd.VLLMGenerationTokens + `_count` + sel + `)`, Params: []string{source.ParamNamespace, source.ParamModelID}})

	spec := source.RefreshSpec{Params: map[string]string{source.ParamNamespace: svc.Namespace, source.ParamModelID: model,
		llmd.ParamRetentionPeriod: "1m"}}
	var results map[string]*source.MetricResult
	var count, sum [2]float64 // per engine; engine 1 serves 3 times engine 0's requests
	const rounds = 13         // 0s to 6m
	for round := range rounds {
		kv, waiting := 0.1, 3.0
		switch round {
		case rounds - 4: // 4m30s: outside the last minute
			kv, waiting = 0.95, 9
		case rounds - 2:
			kv, waiting = 0.9, 7
		case rounds - 1:
			kv, waiting = 0.2, 1
		}
		tokens := 10.0
		if round > 10 { // after 5m
			tokens = 100
		}
		var b strings.Builder
		for e := range 2 {
			if round > 0 {
				count[e] += float64(1 + 2*e)
				sum[e] += float64(1+2*e) * tokens
			}
			l := fmt.Sprintf(`{model_name=%q,engine="%d"}`, model, e)
			fmt.Fprintf(&b, "%s%s %g\n%s%s %g\n", llmd.VLLMKVCacheUsage, l, kv, llmd.VLLMRequestsWaiting, l, waiting)
			fmt.Fprintf(&b, "%s_sum%s %g\n%s_count%s %g\n", llmd.VLLMGenerationTokens, l, sum[e], llmd.VLLMGenerationTokens, l, count[e])
		}
		svc.Pods()[0].SetBody(b.String())
		if round > 0 {
			clk.Step(30 * time.Second)
		}
		if results, err = src.Refresh(ctx, spec); err != nil {
			t.Fatal(err)
		}
	}
	one := func(name string) float64 {
		t.Helper()
		r := results[name]
		if r == nil || len(r.Values) != 1 || r.Values[0].Labels["llm_d_ai_variant"] != "small" {
			t.Fatalf("%s: got %+v, want one value for the pod's group", name, r)
		}
		return r.Values[0].Value
	}
	sumOf := func(name string) float64 {
		total := 0.0
		for _, v := range results[name].Values {
			total += v.Value
		}
		if len(results[name].Values) != 2 {
			t.Fatalf("%s: got %v, want one value per engine", name, results[name].Values)
		}
		return total
	}
	near := func(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }
	for _, tc := range []struct {
		query string
		want  float64
		why   string
	}{
		{llmd.KVCacheUsage, 0.9, "the peak of the last minute"},
		{llmd.QueueLength, 7, "the peak of the last minute"},
		{llmd.KVUsageInstant, 0.2, "the value now"},
		{llmd.AvgOutputTokens, 30, "tokens per request over 5 minutes: (7*10 + 2*100) / 9"},
		{llmd.GenerationTokenRate, sumOf("token_rates"), "the engines' rates summed"},
		{llmd.RequestRate, sumOf("request_rates"), "the engines' rates summed"},
	} {
		if got := one(tc.query); !near(got, tc.want) {
			t.Errorf("%s: got %g, want %g (%s)", tc.query, got, tc.want, tc.why)
		}
	}
}
