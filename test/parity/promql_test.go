package parity

import (
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/podscrape/podscrape/internal/promserver"
	"github.com/podscrape/podscrape/source"
	"github.com/podscrape/podscrape/source/llmd"
	"github.com/podscrape/podscrape/source/pod"
)

// cacheConfigAnyModel is cache_config_info without its model_name matcher: vLLM's
// vllm:cache_config_info carries no model_name label, so the autoscaler's query is empty
// on every backend (both sides agree on that), and this one compares the series.
var cacheConfigAnyModel = source.QueryTemplate{
	Name: "cache_config_info_any_model", Type: source.QueryTypePromQL, Params: []string{source.ParamNamespace},
	Template: `max by (pod, num_gpu_blocks, block_size) (vllm:cache_config_info{namespace="{{.namespace}}"})`,
}

// compare are the queries the test compares: every query of the autoscaler, and one.
var compare = append(llmd.Queries(), cacheConfigAnyModel)

// extrapolated are the queries whose rate or increase extrapolates from the samples at
// the edges of the window; ratios divides two such.
var (
	extrapolated = map[string]bool{llmd.ModelRequestCount: true}
	ratios       = map[string]bool{llmd.AvgOutputTokens: true, llmd.AvgInputTokens: true, llmd.PrefixCacheHitRate: true}
)

// TestAutoscalerQueriesMatchPrometheus runs every query of the autoscaler on a
// PodScrapingSource and on the real Prometheus server scraping the same pods, at the same
// instant, while the simulated load moves.
//
// The simulation advances only between refreshes, and each refresh waits until
// Prometheus has scraped every pod since the last step, so both hold every step's
// exposition. The test stays shorter than the shortest window (1m).
//
// Tolerance. Selections, max_over_time, max and sum of gauges must be equal. rate and
// increase extrapolate: both sides hold the same first and last values (the first step
// and the current one), but sample at different moments, ours once per refresh (n_o
// samples), Prometheus every second (n_p samples). Prometheus' extrapolation extends the
// sampled span by at most half an average interval at the start and 1.1 average
// intervals at the end, so each side's result exceeds the true increase by a relative
// 0 to 1.6/(n-1) of its own; the two may differ by the sum of both bounds, and a ratio of
// two such by twice that.
func TestAutoscalerQueriesMatchPrometheus(t *testing.T) {
	ctx := t.Context()
	f := newFleet(t, ctx, 3, 1, 2)
	vllmSrc := f.source(t, ctx, "vllm", f.vllmPort, append(llmd.VLLMQueries(), cacheConfigAnyModel))
	eppSrc := f.source(t, ctx, "epp", f.eppPort, llmd.SchedulerQueries())
	params := map[string]string{
		source.ParamNamespace:     f.namespace,
		source.ParamModelID:       f.model,
		llmd.ParamRetentionPeriod: "5m",
	}
	prom := f.prometheus(t, ctx)
	const targets = 5 // 3 Ready vLLM pods and 2 EPPs; the not-Ready vLLM pod is skipped by both
	// Prometheus holds two scrapes of every pod before our first refresh, so from our
	// second refresh on both sides have a rate to compare.
	waitScraped(t, ctx, prom, time.Now(), targets)

	compared := map[string]int{}
	const steps = 12
	for step := 0; step <= steps; step++ {
		if step > 0 {
			f.sim.Step()
		}
		waitScraped(t, ctx, prom, time.Now(), targets)
		results := map[string]*source.MetricResult{}
		for _, src := range []*pod.PodScrapingSource{vllmSrc, eppSrc} {
			rs, err := src.Refresh(ctx, source.RefreshSpec{Params: params})
			if err != nil {
				t.Fatalf("step %d: Refresh: %v", step, err)
			}
			for name, r := range rs {
				results[name] = r
			}
		}
		nOurs := step + 1
		for _, q := range compare {
			r := results[q.Name]
			if r == nil {
				t.Fatalf("step %d: no result for %s", step, q.Name)
			}
			if r.Error != nil {
				t.Fatalf("step %d: %s: %v", step, q.Name, r.Error)
			}
			if (extrapolated[q.Name] || ratios[q.Name]) && nOurs < 2 {
				continue // one sample: no rate yet on our side
			}
			expr, err := source.FillTemplate(q, params)
			if err != nil {
				t.Fatal(err)
			}
			at := r.CollectedAt
			v, warnings, _, err := prom.API.Query(ctx, expr, at)
			if err != nil {
				t.Fatalf("step %d: Prometheus %s: %v", step, q.Name, err)
			}
			if len(warnings) > 0 {
				t.Logf("step %d: Prometheus warnings for %s: %v", step, q.Name, warnings)
			}
			tol := 1e-12
			if extrapolated[q.Name] || ratios[q.Name] {
				nProm := promSamples(t, prom, at)
				tol = 1.6/float64(nOurs-1) + 1.6/float64(nProm-1)
				if ratios[q.Name] {
					tol *= 2
				}
			}
			got, want := ours(r), theirs(v)
			if len(want) == 0 && q.Name != llmd.CacheConfigInfo {
				t.Errorf("step %d: %s: Prometheus returned nothing; the comparison would prove nothing", step, q.Name)
			}
			for ls, wv := range want {
				gv, ok := got[ls]
				if !ok {
					t.Errorf("step %d: %s at %s: Prometheus has %s = %v, we have no such series (ours: %v)", step, q.Name, at.Format(time.RFC3339Nano), ls, wv, got)
					continue
				}
				if !equalWithin(gv, wv, tol) {
					t.Errorf("step %d: %s%s = %v, Prometheus %v (tolerance %.3g)", step, q.Name, ls, gv, wv, tol)
				}
			}
			for ls := range got {
				if _, ok := want[ls]; !ok {
					t.Errorf("step %d: %s: we have %s, Prometheus has no such series (theirs: %v)", step, q.Name, ls, want)
				}
			}
			compared[q.Name]++
		}
	}
	for _, q := range compare {
		if compared[q.Name] == 0 {
			t.Errorf("%s was never compared", q.Name)
		}
	}
}

// promSamples returns the fewest samples Prometheus holds of any pod's up over the last
// 5 minutes at time at: its n for the tolerance.
func promSamples(t *testing.T, prom *promserver.Server, at time.Time) int {
	t.Helper()
	v, _, _, err := prom.API.Query(t.Context(), "min(count_over_time(up[5m]))", at)
	if err != nil {
		t.Fatal(err)
	}
	vec, ok := v.(model.Vector)
	if !ok || len(vec) != 1 || vec[0].Value < 2 {
		all, _, _, _ := prom.API.Query(t.Context(), "count_over_time(up[5m])", at)
		now, _, _, _ := prom.API.Query(t.Context(), "count_over_time(up[5m])", time.Now())
		t.Fatalf("Prometheus samples of up at %s: %v, want a count of at least 2\n%v\nnow: %v", at, v, all, now)
	}
	return int(vec[0].Value)
}
