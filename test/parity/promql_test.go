package parity

import (
	"testing"
	"time"

	"github.com/podscrape/podscrape/internal/promserver"
	"github.com/podscrape/podscrape/source"
	"github.com/podscrape/podscrape/source/llmd"
	"github.com/podscrape/podscrape/source/pod"
)

// cacheConfigAnyModel is cache_config_info grouped by pod alone (the shipped query, like
// upstream's, reads vllm:cache_config_info by namespace only: it carries no model_name).
var cacheConfigAnyModel = source.QueryTemplate{
	Name: "cache_config_info_any_model", Type: source.QueryTypePromQL, Params: []string{source.ParamNamespace},
	Template: `max by (pod, num_gpu_blocks, block_size) (vllm:cache_config_info{namespace="{{.namespace}}"})`,
}

// compare are the queries the test compares: every query of the autoscaler (vLLM's,
// SGLang's and the EPP's), and one.
var compare = append(llmd.Queries(), cacheConfigAnyModel)

// TestAutoscalerQueriesMatchPrometheus runs every query of the autoscaler on a
// PodScrapingSource and on the real Prometheus server scraping the same pods, at the same
// instant, while the simulated load moves.
//
// The simulation advances only between refreshes, and each refresh waits until
// Prometheus has scraped every pod since the last step, so both hold every step's
// exposition; a step at whose instant Prometheus' last scrape of a pod failed is taken
// again. The test stops stepping before the shortest window (1m) could slide past
// Prometheus' first scrape. rateTolerance derives the tolerance of rate and increase.
func TestAutoscalerQueriesMatchPrometheus(t *testing.T) {
	ctx := t.Context()
	f := newFleetWithSGLang(t, ctx, 3, 1, 2, 2)
	vllmSrc := f.source(t, ctx, "vllm", f.vllmPort, append(llmd.VLLMQueries(), cacheConfigAnyModel))
	sglangSrc := f.source(t, ctx, "sglang", f.sglangPort, llmd.SGLangQueries())
	eppSrc := f.source(t, ctx, "epp", f.eppPort, llmd.SchedulerQueries())
	params := map[string]string{
		source.ParamNamespace:     f.namespace,
		source.ParamModelID:       f.model,
		llmd.ParamRetentionPeriod: "5m",
	}
	promStart := time.Now()
	prom := f.prometheus(t, ctx)
	const targets = 7 // 3 Ready vLLM pods, 2 SGLang pods and 2 EPPs; the not-Ready vLLM pod is skipped by both
	// Prometheus holds two scrapes of every pod before our first refresh, so from our
	// second refresh on both sides have a rate to compare.
	waitScraped(t, ctx, prom, time.Now(), targets)
	checkZeroStart(t, ctx, prom, f.namespace)

	compared, tightly := map[string]int{}, map[string]int{}
	scrapes := map[*pod.PodScrapingSource]*ourScrapes{vllmSrc: {}, sglangSrc: {}, eppSrc: {}}
	const steps = 12
	for step := 0; step <= steps; step++ {
		if time.Since(promStart) > maxTestSpan {
			t.Logf("stopped at step %d of %d: %s since Prometheus started", step, steps, time.Since(promStart).Round(time.Second))
			break
		}
		if step > 0 {
			f.sim.Step()
		}
		untilSettled(t, step, func() bool {
			return compareStep(t, prom, f, step, params, scrapes, compared, tightly, targets)
		})
	}
	for _, q := range compare {
		if compared[q.Name] == 0 {
			t.Errorf("%s was never compared", q.Name)
		}
		if rates(q.Name) && tightly[q.Name] == 0 {
			t.Errorf("%s was never compared within a tolerance that could fail", q.Name)
		}
	}
}

// compareStep refreshes both sources and compares each query's answer with Prometheus'
// at the same instant. It reports false, comparing nothing, when a Prometheus scrape had
// failed at that instant.
func compareStep(t *testing.T, prom *promserver.Server, f *fleet, step int, params map[string]string,
	scrapes map[*pod.PodScrapingSource]*ourScrapes, compared, tightly map[string]int, targets int) bool {
	t.Helper()
	ctx := t.Context()
	waitScraped(t, ctx, prom, time.Now(), targets)
	results := map[string]*source.MetricResult{}
	excess := map[string]float64{}
	n := map[string]int{}
	ofName := map[string]*ourScrapes{}
	for src, o := range scrapes {
		rs, at, e, err := o.refresh(ctx, src, source.RefreshSpec{Params: params})
		if err != nil {
			t.Fatalf("step %d: Refresh: %v", step, err)
		}
		if !settled(t, ctx, prom, f.namespace, at, targets) {
			return false
		}
		for name, r := range rs {
			results[name], excess[name], n[name], ofName[name] = r, e, o.n, o
		}
	}
	for _, q := range compare {
		r := results[q.Name]
		if r == nil {
			t.Fatalf("step %d: no result for %s", step, q.Name)
		}
		if err, _ := beyondPartialWindow(r); err != nil {
			t.Fatalf("step %d: %s: %v", step, q.Name, err)
		}
		if rates(q.Name) && n[q.Name] < 2 {
			continue // one sample: no rate yet on our side
		}
		expr, err := source.FillTemplate(q, params)
		if err != nil {
			t.Fatal(err)
		}
		at := r.CollectedAt
		// A rate the pod source evaluated over the span it holds: Prometheus, started
		// earlier, over the same span.
		o := ofName[q.Name]
		narrowedExpr, moved := narrowedOver(t, expr, at, o.firstStart)
		moved = moved && narrowed(r)
		var promN int
		if moved {
			if promN = promSamplesNarrowed(t, prom, f.namespace, o, at); promN < 2 {
				continue // no rate over the span held on Prometheus' side yet
			}
			expr = narrowedExpr
		}
		v, warnings, _, err := prom.API.Query(ctx, expr, at)
		if err != nil {
			t.Fatalf("step %d: Prometheus %s: %v", step, q.Name, err)
		}
		if len(warnings) > 0 {
			t.Logf("step %d: Prometheus warnings for %s: %v", step, q.Name, warnings)
		}
		tol := toleranceAt(t, prom, f.namespace, q.Name, excess[q.Name], n[q.Name], at)
		if moved {
			tol = narrowTolerance(q.Name, excess[q.Name], o.firstExcess, promN)
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
		if tight(tol) {
			tightly[q.Name]++
		}
	}
	return true
}
