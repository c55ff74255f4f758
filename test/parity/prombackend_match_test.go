package parity

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	"github.com/podscrape/podscrape/source"
	"github.com/podscrape/podscrape/source/llmd"
	"github.com/podscrape/podscrape/source/pod"
	"github.com/podscrape/podscrape/source/prometheus"
)

// Queries compared besides the autoscaler's and cacheConfigAnyModel.
var (
	// rateOfGauge draws the engine's info that a gauge "might not be a counter": both
	// backends must report the same warnings.
	rateOfGauge = source.QueryTemplate{
		Name: "rate_of_gauge", Type: source.QueryTypePromQL, Params: []string{source.ParamNamespace},
		Template: `max(rate(vllm:kv_cache_usage_perc{namespace="{{.namespace}}"}[1m]))`,
	}
	// waitingByName is a metric-name query: a plain selector on Prometheus.
	waitingByName = source.QueryTemplate{Name: "waiting_by_name", Type: source.QueryTypeMetricName, Template: "vllm:num_requests_waiting"}
)

// TestAutoscalerQueriesMatchPodSource runs every query of the autoscaler through a
// PodScrapingSource and through a PrometheusSource on the real Prometheus server
// scraping the same pods, both through their public APIs, at the same instant: the
// PrometheusSource's clock is set to the pod results' CollectedAt before each Refresh.
//
// The steps are those of TestAutoscalerQueriesMatchPrometheus: the simulation advances
// only between refreshes, each refresh waits until Prometheus has scraped every pod since
// the last step, a step at whose instant a Prometheus scrape had failed is taken again,
// the test stops before the shortest window (1m) slides past Prometheus' first scrape,
// and rateTolerance bounds rate and increase.
func TestAutoscalerQueriesMatchPodSource(t *testing.T) {
	ctx := t.Context()
	f := newFleet(t, ctx, 3, 1, 2)
	vllmQueries := append(llmd.VLLMQueries(), cacheConfigAnyModel, rateOfGauge)
	pods := map[string]*pod.PodScrapingSource{
		"vllm": f.source(t, ctx, "vllm", f.vllmPort, vllmQueries),
		"epp":  f.source(t, ctx, "epp", f.eppPort, llmd.SchedulerQueries()),
	}
	queryNames := map[string][]string{"vllm": namesOf(vllmQueries), "epp": namesOf(llmd.SchedulerQueries())}
	templates := map[string]source.QueryTemplate{}
	for _, q := range append(slices.Clone(vllmQueries), llmd.SchedulerQueries()...) {
		templates[q.Name] = q
	}
	promStart := time.Now()
	prom := f.prometheus(t, ctx)
	api, err := prometheus.NewAPI(prometheus.ClientConfig{URL: prom.URL})
	if err != nil {
		t.Fatal(err)
	}
	clk := clocktesting.NewFakeClock(time.Now())
	promSrc := prometheus.NewPrometheusSource(ctx, api, prometheus.PrometheusSourceConfig{Clock: clk})
	if err := llmd.Register(promSrc.QueryList(), append(slices.Clone(vllmQueries), llmd.SchedulerQueries()...)); err != nil {
		t.Fatal(err)
	}
	promSrc.QueryList().MustRegister(waitingByName)
	params := map[string]string{
		source.ParamNamespace:     f.namespace,
		source.ParamModelID:       f.model,
		llmd.ParamRetentionPeriod: "5m",
	}
	const targets = 5 // 3 Ready vLLM pods and 2 EPPs; the not-Ready vLLM pod is skipped by both
	waitScraped(t, ctx, prom, time.Now(), targets)
	checkZeroStart(t, ctx, prom, f.namespace)

	compared, tightly := map[string]int{}, map[string]int{}
	scrapes := map[string]*ourScrapes{"vllm": {}, "epp": {}}
	const steps = 10
	for step := 0; step <= steps; step++ {
		if time.Since(promStart) > maxTestSpan {
			t.Logf("stopped at step %d of %d: %s since Prometheus started", step, steps, time.Since(promStart).Round(time.Second))
			break
		}
		if step > 0 {
			f.sim.Step()
		}
		for svc, podSrc := range pods {
			untilSettled(t, step, func() bool {
				waitScraped(t, ctx, prom, time.Now(), targets)
				ours, at, excess, err := scrapes[svc].refresh(ctx, podSrc, source.RefreshSpec{Queries: queryNames[svc], Params: params})
				if err != nil {
					t.Fatalf("step %d: pod source %s: %v", step, svc, err)
				}
				if !settled(t, ctx, prom, f.namespace, at, targets) {
					return false
				}
				o := scrapes[svc]
				promN := promSamplesNarrowed(t, prom, f.namespace, o, at)
				compareBackends(t, step, ours, at, promSrc, clk, params, backendTolerance{
					whole:      func(name string) float64 { return toleranceAt(t, prom, f.namespace, name, excess, o.n, at) },
					narrowed:   func(name string) float64 { return narrowTolerance(name, excess, o.firstExcess, promN) },
					comparable: promN >= 2,
				}, o, templates, compared, tightly)
				return true
			})
		}
		// A metric-name query is a plain selector: Prometheus' series are the pods'.
		r := promSrc.MustGet(ctx, waitingByName.Name, nil)
		if r.Error != nil || len(r.Values) != 3 {
			t.Errorf("step %d: %s: got %d values, %v; want one per Ready vLLM pod", step, waitingByName.Name, len(r.Values), r.Error)
		}
	}
	for _, q := range append(vllmQueries, llmd.SchedulerQueries()...) {
		if compared[q.Name] == 0 {
			t.Errorf("%s was never compared", q.Name)
		}
		if rates(q.Name) && tightly[q.Name] == 0 {
			t.Errorf("%s was never compared within a tolerance that could fail", q.Name)
		}
	}
}

// backendTolerance is the relative tolerance of a query's comparison: whole for a window
// both backends evaluate as asked, narrowed for one the pod source evaluated over the
// span it holds (narrowTolerance).
type backendTolerance struct {
	whole, narrowed func(name string) float64
	// comparable says Prometheus holds two samples a series over the span held: until
	// it does, it has no rate over it, and a narrowed query is not compared.
	comparable bool
}

// narrowedQueries counts the queries compareBackends registers, to name each anew.
var narrowedQueries int

// compareBackends refreshes the Prometheus source at the pod source's instant at, on the
// queries of the pod source's results ours, and compares each pair within its tolerance.
// A rate the pod source evaluated over the span it holds (its history began with o's
// first refresh) is compared with the Prometheus source's answer to the same expression
// narrowed alike, registered for it under a name of its own.
func compareBackends(t *testing.T, step int, ours map[string]*source.MetricResult, at time.Time,
	promSrc *prometheus.PrometheusSource, clk *clocktesting.FakeClock, params map[string]string,
	tolerance backendTolerance, o *ourScrapes, templates map[string]source.QueryTemplate, compared, tightly map[string]int) {
	t.Helper()
	oursN := o.n
	var names, asked []string
	theirName := map[string]string{}
	for name, r := range ours {
		if err, _ := beyondPartialWindow(r); err != nil {
			t.Fatalf("step %d: pod source %s: %v", step, name, err)
		}
		if narrowed(r) && !tolerance.comparable {
			continue
		}
		names = append(names, name)
		theirName[name] = name
		if narrowed(r) {
			expr, err := source.FillTemplate(templates[name], params)
			if err != nil {
				t.Fatal(err)
			}
			if expr, moved := narrowedOver(t, expr, at, o.firstStart); moved {
				narrowedQueries++
				theirName[name] = fmt.Sprintf("%s_narrowed_%d", name, narrowedQueries)
				promSrc.QueryList().MustRegister(source.QueryTemplate{Name: theirName[name], Type: source.QueryTypePromQL, Template: expr})
			}
		}
		asked = append(asked, theirName[name])
	}
	clk.SetTime(at)
	theirs, err := promSrc.Refresh(t.Context(), source.RefreshSpec{Queries: asked, Params: params})
	if err != nil {
		t.Fatalf("step %d: prometheus source: %v", step, err)
	}
	for _, name := range names {
		want, got := ours[name], theirs[theirName[name]]
		if got.Error != nil {
			t.Fatalf("step %d: prometheus source %s: %v", step, name, got.Error)
		}
		if !got.CollectedAt.Equal(want.CollectedAt) {
			t.Errorf("step %d: %s evaluated at %s, the pod source at %s", step, name, got.CollectedAt, want.CollectedAt)
		}
		if rates(name) && oursN < 2 {
			continue // one sample: no rate yet on the pod source
		}
		// Both backends started together and answer over the same short span: only a
		// window that adds up over time (increase) is a lower bound the pod source must
		// flag; an estimate over two scrapes or more is an answer on both, with no
		// Error on either (an autoscaler would hold on one and act on the other).
		var pw *pod.PartialWindowError
		if errors.As(want.Error, &pw) && pw.Func != "increase" {
			t.Errorf("step %d: %s: the pod source's Error %v over %d scrapes; Prometheus answers %v with none", step, name, want.Error, oursN, got.Values)
		}
		tol := tolerance.whole(name)
		if theirName[name] != name {
			tol = tolerance.narrowed(name)
		}
		if len(got.Values) == 0 && name != llmd.CacheConfigInfo {
			t.Errorf("step %d: %s: Prometheus returned nothing; the comparison would prove nothing", step, name)
		}
		compareSeries(t, fmt.Sprintf("step %d: %s", step, name), got, want, tol)
		if _, ourWarnings := beyondPartialWindow(want); name == rateOfGauge.Name && (len(got.Warnings) == 0 || !slices.Equal(got.Warnings, ourWarnings)) {
			t.Errorf("step %d: %s: warnings %q, the pod source %q; want the same, not none", step, name, got.Warnings, ourWarnings)
		}
		compared[name]++
		if tight(tol) {
			tightly[name]++
		}
	}
}

func namesOf(qs []source.QueryTemplate) []string {
	names := make([]string, len(qs))
	for i, q := range qs {
		names[i] = q.Name
	}
	return names
}

// compareSeries checks that got and want hold the same series, with values equal
// within the relative tolerance tol, at the same timestamps.
func compareSeries(t *testing.T, what string, got, want *source.MetricResult, tol float64) {
	t.Helper()
	index := func(r *source.MetricResult) map[string]source.MetricValue {
		out := map[string]source.MetricValue{}
		for _, v := range r.Values {
			out[labelText(v.Labels)] = v
		}
		return out
	}
	g, w := index(got), index(want)
	for ls, wv := range w {
		gv, ok := g[ls]
		switch {
		case !ok:
			t.Errorf("%s: the pod source has %s = %v, Prometheus no such series (its: %v)", what, ls, wv.Value, got.Values)
		case !equalWithin(gv.Value, wv.Value, tol):
			t.Errorf("%s%s = %v through Prometheus, %v through the pods (tolerance %.3g)", what, ls, gv.Value, wv.Value, tol)
		case !gv.Timestamp.Equal(wv.Timestamp):
			t.Errorf("%s%s: timestamp %s through Prometheus, %s through the pods", what, ls, gv.Timestamp, wv.Timestamp)
		}
	}
	for ls := range g {
		if _, ok := w[ls]; !ok {
			t.Errorf("%s: Prometheus has %s, the pod source no such series", what, ls)
		}
	}
}
