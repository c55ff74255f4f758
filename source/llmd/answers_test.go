package llmd_test

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/podscrape/podscrape/internal/localcluster"
	"github.com/podscrape/podscrape/podscrapetest"
	"github.com/podscrape/podscrape/source"
	"github.com/podscrape/podscrape/source/llmd"
	"github.com/podscrape/podscrape/source/pod"
)

// step is the time between the two scrapes every answer is computed from.
const step = 30 * time.Second

// want is what a query must answer: one value per group, exact (a gauge or a ratio of
// rates) or, for a rate or an increase, within [lo, hi] (Prometheus' extrapolation
// puts it between the increase over the sampled interval and that over the window).
type want struct {
	labels map[string]string // labels the value must carry (the group)
	lo, hi float64
}

// exactly is a want of one value.
func exactly(v float64, labels map[string]string) want { return want{labels: labels, lo: v, hi: v} }

// rateOf is the want of rate(counter[1m]) over two scrapes step apart whose counter grew
// by delta.
func rateOf(delta float64, labels map[string]string) want {
	return want{labels: labels, lo: delta / 60, hi: delta / step.Seconds()}
}

// world is one Service's pods serving an exposition A, then 2A and 3A (see scaled), a step apart,
// read through a PodScrapingSource with the llm-d pod labels and the given queries.
type world struct {
	svc     *podscrapetest.Service
	results map[string]*source.MetricResult
}

// answer serves bodies (one per pod, labelled with variants) and returns the results of
// every query of qs after the third scrape, ParamRetentionPeriod 45s: the increase of
// the last two scrapes.
func answer(t *testing.T, bodies []string, variants []string, model string, qs []source.QueryTemplate) world {
	t.Helper()
	ctx := context.Background()
	podLabels := map[string]map[string]string{}
	names := make([]string, len(bodies))
	for i := range bodies {
		names[i] = fmt.Sprintf("engine-%d", i)
		if i < len(variants) && variants[i] != "" {
			podLabels[names[i]] = map[string]string{llmd.VariantLabel: variants[i]}
		}
	}
	svc, err := env.NewService(ctx, podscrapetest.ServiceOptions{Name: "engine", PodNames: names, PodLabels: podLabels})
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
	if err := llmd.Register(src.QueryList(), qs); err != nil {
		t.Fatal(err)
	}
	var names2 []string
	for _, q := range qs {
		names2 = append(names2, q.Name)
	}
	spec := source.RefreshSpec{Queries: names2, Params: map[string]string{
		source.ParamNamespace: svc.Namespace, source.ParamModelID: model, llmd.ParamRetentionPeriod: "45s",
	}}
	var results map[string]*source.MetricResult
	for round := range 3 {
		for i, p := range svc.Pods() {
			p.SetBody(scaled(bodies[i], float64(round+1)))
		}
		if round > 0 {
			clk.Step(step)
		}
		if results, err = src.Refresh(ctx, spec); err != nil {
			t.Fatal(err)
		}
	}
	return world{svc: svc, results: results}
}

// check compares a query's values with wants, each matched by its labels.
func (w world) check(t *testing.T, query string, wants ...want) {
	t.Helper()
	r := w.results[query]
	if r == nil {
		t.Errorf("%s: no result", query)
		return
	}
	if r.HasError() {
		t.Errorf("%s: %v", query, r.Error)
	}
	if len(r.Values) != len(wants) {
		t.Errorf("%s: got %d values %v, want %d", query, len(r.Values), r.Values, len(wants))
		return
	}
	for _, wt := range wants {
		found := false
		for _, v := range r.Values {
			if !hasLabels(v.Labels, wt.labels) {
				continue
			}
			found = true
			if v.Value < wt.lo*(1-1e-9) || v.Value > wt.hi*(1+1e-9) {
				t.Errorf("%s %v: got %g, want %s", query, wt.labels, v.Value, span(wt))
			}
		}
		if !found {
			t.Errorf("%s: no value labelled %v among %v", query, wt.labels, r.Values)
		}
	}
}

func span(w want) string {
	if w.lo == w.hi {
		return fmt.Sprint(w.lo)
	}
	return fmt.Sprintf("[%g, %g]", w.lo, w.hi)
}

func hasLabels(got, want map[string]string) bool {
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}

// instances returns the group labels of each pod of the world: instance, pod and
// llm_d_ai_variant.
func (w world) instances(variants []string) []map[string]string {
	var out []map[string]string
	for i, p := range w.svc.Pods() {
		out = append(out, map[string]string{
			"instance": fmt.Sprintf("%s:%d", p.IP, w.svc.Port), "pod": p.Name, "llm_d_ai_variant": variants[i],
		})
	}
	return out
}

// perPod repeats one want for every pod's group.
func perPod(groups []map[string]string, f func(map[string]string) want) []want {
	var out []want
	for _, g := range groups {
		out = append(out, f(g))
	}
	return out
}

// engineNames are the metric names one engine's queries read, for the expected values.
type engineNames struct {
	kv, waiting, genTokens, promptTokens, ttft, itl, requests string
	hitsNum, hitsDen                                          string
	capacity                                                  func(fams map[string]*dto.MetricFamily, g map[string]string) want
}

// checkEngine checks every engine query of engine against what body (served by each of
// the world's pods) says.
func checkEngine(t *testing.T, engine llmd.Engine, body, model string, names engineNames, qs []source.QueryTemplate) {
	variants := []string{"small", "large"}
	w := answer(t, []string{body, body}, variants, model, qs)
	fams := families(t, body)
	m := map[string]string{"model_name": model}
	at := func(metric string) float64 { return total(fams, metric, m) }
	groups := w.instances(variants)
	q := func(name string) string { return llmd.EngineQuery(engine, name) }
	w.check(t, q(llmd.KVCacheUsage), perPod(groups, func(g map[string]string) want { return exactly(at(names.kv), g) })...)
	w.check(t, q(llmd.KVUsageInstant), perPod(groups, func(g map[string]string) want { return exactly(at(names.kv), g) })...)
	w.check(t, q(llmd.QueueLength), perPod(groups, func(g map[string]string) want { return exactly(at(names.waiting), g) })...)
	w.check(t, q(llmd.CacheConfigInfo), perPod(groups, func(g map[string]string) want { return names.capacity(fams, g) })...)
	w.check(t, q(llmd.AvgOutputTokens), perPod(groups, func(g map[string]string) want {
		return exactly(maxMean(fams, names.genTokens, m), g)
	})...)
	w.check(t, q(llmd.AvgInputTokens), perPod(groups, func(g map[string]string) want {
		return exactly(maxMean(fams, names.promptTokens, m), g)
	})...)
	w.check(t, q(llmd.PrefixCacheHitRate), perPod(groups, func(g map[string]string) want {
		return exactly(at(names.hitsNum)/at(names.hitsDen), g)
	})...)
	w.check(t, q(llmd.AvgTTFT), perPod(groups, func(g map[string]string) want {
		return exactly(maxMean(fams, names.ttft, m), g)
	})...)
	w.check(t, q(llmd.AvgITL), perPod(groups, func(g map[string]string) want {
		return exactly(maxMean(fams, names.itl, m), g)
	})...)
	w.check(t, q(llmd.GenerationTokenRate), perPod(groups, func(g map[string]string) want { return rateOf(at(names.genTokens+"_sum"), g) })...)
	w.check(t, q(llmd.RequestRate), perPod(groups, func(g map[string]string) want { return rateOf(at(names.genTokens+"_count"), g) })...)
	// increase over 45s of two scrapes 30s apart: the growth, extrapolated by up to 15s.
	n := 2 * at(names.requests) // two pods
	w.check(t, q(llmd.ModelRequestCount), want{labels: map[string]string{}, lo: n, hi: 1.5 * n})
	for _, name := range llmd.EngineQueries() {
		for _, v := range w.results[q(name)].Values {
			if v.Value != v.Value || math.IsInf(v.Value, 0) {
				t.Errorf("%s: %v", q(name), v)
			}
		}
	}
}

// maxMean is what the ratio queries (avg_output_tokens, avg_input_tokens, avg_ttft,
// avg_itl) answer from a pod serving a scaled body: rate(_sum) / rate(_count) of each
// series of histogram name whose labels include match, its mean, then the largest. On
// current SGLang's TTFT, a series per is_streaming, that is the larger of the two means,
// not the pod's mean (see llmd.AvgTTFT).
func maxMean(fams map[string]*dto.MetricFamily, name string, match map[string]string) float64 {
	best := math.NaN()
	for _, m := range fams[name].GetMetric() {
		h := m.GetHistogram()
		if !matches(m, match) || h.GetSampleCount() == 0 { // 0/0: NaN, which max passes over
			continue
		}
		if mean := h.GetSampleSum() / float64(h.GetSampleCount()); math.IsNaN(best) || mean > best {
			best = mean
		}
	}
	return best
}

// Every vLLM query answers, correctly, from what current vLLM exposes (llm-d's
// simulator at eec055a: _total counters, cache_config_info without model_name,
// inter_token_latency_seconds), per instance, pod and variant.
func TestVLLMQueriesAnswerCurrentVLLM(t *testing.T) {
	checkEngine(t, llmd.EngineVLLM, fixture(t, "vllm-sim-eec055a-metrics.txt"), "fake-model", engineNames{
		kv: llmd.VLLMKVCacheUsage, waiting: llmd.VLLMRequestsWaiting,
		genTokens: llmd.VLLMGenerationTokens, promptTokens: llmd.VLLMPromptTokens,
		ttft: llmd.VLLMTimeToFirstToken, itl: llmd.VLLMInterTokenLatency, requests: llmd.VLLMRequestSuccessTotal,
		hitsNum: llmd.VLLMPrefixCacheHits, hitsDen: llmd.VLLMPrefixCacheQueries,
		capacity: func(fams map[string]*dto.MetricFamily, g map[string]string) want {
			l := map[string]string{"num_gpu_blocks": "64", "block_size": "8"}
			for k, v := range g {
				l[k] = v
			}
			return exactly(1, l)
		},
	}, llmd.VLLMQueries())
}

// The EPP queries answer from a current EPP, which emits llm_d_epp_* beside the
// deprecated names: each queue counted once, the dispatch rate per endpoint.
func TestSchedulerQueriesAnswerCurrentEPP(t *testing.T) {
	body := fixture(t, "llm-d-epp-ebab687-live.txt")
	checkEPP(t, []string{body}, 1)
}

// The EPP queries keep answering from EPPs that emit only the deprecated names (before
// llm-d-router), alone or beside a current one mid-upgrade, each EPP counted once.
func TestSchedulerQueriesAnswerLegacyEPP(t *testing.T) {
	current := fixture(t, "llm-d-epp-ebab687-live.txt")
	legacy := withoutCurrentEPPNames(current)
	if strings.Contains(legacy, "\nllm_d_epp_") || !strings.Contains(legacy, "\n"+llmd.LegacyEPPFlowControlQueueSize) {
		t.Fatal("the legacy exposition is not legacy-only")
	}
	t.Run("legacy only", func(t *testing.T) { checkEPP(t, []string{legacy}, 1) })
	t.Run("mixed fleet", func(t *testing.T) { checkEPP(t, []string{current, legacy}, 2) })
}

// withoutCurrentEPPNames drops the llm_d_epp_* families: an EPP from before the rename.
func withoutCurrentEPPNames(body string) string {
	var out []string
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, "llm_d_epp_") || strings.HasPrefix(line, "# HELP llm_d_epp_") || strings.HasPrefix(line, "# TYPE llm_d_epp_") {
			continue
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}

// checkEPP serves bodies from EPP pods (each the live capture or its legacy twin) and
// checks the scheduler queries: every EPP's queue counted once.
func checkEPP(t *testing.T, bodies []string, epps float64) {
	t.Helper()
	w := answer(t, bodies, nil, "fake-model", llmd.SchedulerQueries())
	fams := families(t, fixture(t, "llm-d-epp-ebab687-live.txt"))
	m := map[string]string{"target_model_name": "fake-model"}
	size := total(fams, llmd.EPPFlowControlQueueSize, m)
	bytes := total(fams, llmd.EPPFlowControlQueueBytes, m)
	if size != 15 || bytes != 2325 {
		t.Fatalf("the live capture holds %g requests, %g bytes: want 15 and 2325", size, bytes)
	}
	w.check(t, llmd.SchedulerQueueSize, exactly(epps*size, map[string]string{}))
	w.check(t, llmd.SchedulerQueueBytes, exactly(epps*bytes, map[string]string{}))
	attempts := total(fams, llmd.EPPSchedulerAttempts, map[string]string{"status": "success", "target_model_name": "fake-model"})
	w.check(t, llmd.SchedulerDispatchRate, rateOf(epps*attempts, map[string]string{
		"pod_name": "vllm-sim-0", "port": "8000", "namespace": w.svc.Namespace,
	}))
	w.check(t, llmd.ModelArrivalRate, rateOf(epps*attempts, map[string]string{"namespace": w.svc.Namespace}))
	for _, v := range w.results[llmd.SchedulerDispatchRate].Values {
		if keys := sortedKeys(v.Labels); !slices.Equal(keys, []string{"namespace", "pod_name", "port"}) {
			t.Errorf("scheduler_dispatch_rate grouped by %v, want namespace, pod_name, port", keys)
		}
	}
}

func sortedKeys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// simulated returns pod's exposition after steps of a simulation with SGLang and vLLM
// pods behind one EPP, of generation gen.
func simulated(pod string, steps int, gen localcluster.Generation) string {
	s := localcluster.NewSimulation(localcluster.SimulationOptions{
		Seed: 7, EPPPods: []string{"epp-0"}, ModelServerPods: []string{"vllm-0"}, SGLangPods: []string{"sglang-0"},
		Generation: gen,
	})
	for range steps {
		s.Step()
	}
	return string(s.Exposition(pod))
}

// Every SGLang query (sglang/<name>) answers, correctly, from SGLang's sglang:* metrics
// (the simulated SGLang pod: no SGLang exposition was captured). Its TTFT is split by
// is_streaming, the two means apart, so sglang/avg_ttft answering the larger of them (as
// upstream's query does), not the pod's mean, is what is checked.
func TestSGLangQueriesAnswerSGLang(t *testing.T) {
	const model = "Qwen/Qwen3-0.6B"
	body := simulated("sglang-0", 120, localcluster.Current)
	fams, m := families(t, body), map[string]string{"model_name": model}
	ttft := llmd.SGLangTimeToFirstToken
	podMean := total(fams, ttft+"_sum", m) / total(fams, ttft+"_count", m)
	if n, larger := len(fams[ttft].GetMetric()), maxMean(fams, ttft, m); n != 2 || larger < podMean*1.001 {
		t.Fatalf("%s: %d series, the larger mean %g, the pod's %g: want one series per is_streaming, the means apart", ttft, n, larger, podMean)
	}
	checkEngine(t, llmd.EngineSGLang, body, model, engineNames{
		kv: llmd.SGLangTokenUsage, waiting: llmd.SGLangQueueRequests,
		genTokens: llmd.SGLangGenerationTokens, promptTokens: llmd.SGLangPromptTokens,
		ttft: llmd.SGLangTimeToFirstToken, itl: llmd.SGLangInterTokenLatency, requests: llmd.SGLangRequestsTotal,
		hitsNum: llmd.SGLangCachedTokensTotal, hitsDen: llmd.SGLangPromptTokensTotal,
		capacity: func(fams map[string]*dto.MetricFamily, g map[string]string) want {
			return exactly(total(fams, llmd.SGLangMaxTotalTokens, nil), g)
		},
	}, llmd.SGLangQueries())
}

// The vLLM queries answer from the simulated current vLLM too, whose series carry the
// engine label real vLLM adds.
func TestVLLMQueriesAnswerSimulatedVLLM(t *testing.T) {
	body := simulated("vllm-0", 120, localcluster.Current)
	if !strings.Contains(body, `engine="0"`) {
		t.Fatal("the simulated vLLM has no engine label")
	}
	checkEngine(t, llmd.EngineVLLM, body, "Qwen/Qwen3-0.6B", engineNames{
		kv: llmd.VLLMKVCacheUsage, waiting: llmd.VLLMRequestsWaiting,
		genTokens: llmd.VLLMGenerationTokens, promptTokens: llmd.VLLMPromptTokens,
		ttft: llmd.VLLMTimeToFirstToken, itl: llmd.VLLMInterTokenLatency, requests: llmd.VLLMRequestSuccessTotal,
		hitsNum: llmd.VLLMPrefixCacheHits, hitsDen: llmd.VLLMPrefixCacheQueries,
		capacity: func(fams map[string]*dto.MetricFamily, g map[string]string) want {
			l := map[string]string{"num_gpu_blocks": "512", "block_size": "16"}
			for k, v := range g {
				l[k] = v
			}
			return exactly(1, l)
		},
	}, llmd.VLLMQueries())
}

// The scheduler queue queries read the EPP's queue by model, which the EPP of the
// previous generation (the Gateway API Inference Extension's v1.2.1) does not give: it
// labels inference_extension_flow_control_queue_size with fairness_id and priority only
// (the model labels came in v1.3.0) and has no queue bytes (v1.4.0). Upstream's queries,
// shipped unchanged, answer nothing there, on any backend, even with requests held: a
// caller must not read that as an empty queue. (That EPP emits no scheduler attempts
// either: scheduler_dispatch_rate has nothing to read there.)
func TestSchedulerQueueAnswersNothingFromV121EPP(t *testing.T) {
	const model = "Qwen/Qwen3-0.6B"
	var body string
	for steps := 60; steps < 600; steps += 30 { // a step with requests held in flow control
		body = simulated("epp-0", steps, localcluster.Previous)
		if total(families(t, body), llmd.LegacyEPPFlowControlQueueSize, nil) > 0 {
			break
		}
	}
	if strings.Contains(body, "\nllm_d_epp_") {
		t.Fatal("the previous EPP exposes llm_d_epp_* names")
	}
	if total(families(t, body), llmd.LegacyEPPFlowControlQueueSize, nil) == 0 {
		t.Fatal("the simulated EPP never held a request")
	}
	w := answer(t, []string{body}, nil, model, llmd.SchedulerQueries()[:2])
	for _, q := range []string{llmd.SchedulerQueueSize, llmd.SchedulerQueueBytes} {
		if r := w.results[q]; r == nil || len(r.Values) != 0 {
			t.Errorf("%s: got %v, want no value: the v1.2.1 EPP labels its queue by no model", q, r)
		}
	}
}
