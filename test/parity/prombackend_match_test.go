package parity

import (
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
// The simulation advances only between refreshes, and each refresh waits until
// Prometheus has scraped every pod since the last step, so both hold every step's
// exposition. Tolerance, as in test/parity: selections, max_over_time, max and sum of
// gauges must be equal; rate and increase extrapolate from samples taken at different
// moments (ours once per refresh, n_o samples; Prometheus' every second, n_p), so they
// may differ by 1.6/(n_o-1) + 1.6/(n_p-1) relative, and a ratio of two by twice that.
func TestAutoscalerQueriesMatchPodSource(t *testing.T) {
	ctx := t.Context()
	f := newFleet(t, ctx, 3, 1, 2)
	vllmQueries := append(llmd.VLLMQueries(), cacheConfigAnyModel, rateOfGauge)
	pods := map[string]*pod.PodScrapingSource{
		"vllm": f.source(t, ctx, "vllm", f.vllmPort, vllmQueries),
		"epp":  f.source(t, ctx, "epp", f.eppPort, llmd.SchedulerQueries()),
	}
	queryNames := map[string][]string{"vllm": namesOf(vllmQueries), "epp": namesOf(llmd.SchedulerQueries())}
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

	compared := map[string]int{}
	const steps = 10
	for step := 0; step <= steps; step++ {
		if step > 0 {
			f.sim.Step()
		}
		waitScraped(t, ctx, prom, time.Now(), targets)
		nOurs := step + 1
		for svc, podSrc := range pods {
			ours, err := podSrc.Refresh(ctx, source.RefreshSpec{Queries: queryNames[svc], Params: params})
			if err != nil {
				t.Fatalf("step %d: pod source %s: %v", step, svc, err)
			}
			var names []string
			var at time.Time
			for name, r := range ours {
				if r.Error != nil {
					t.Fatalf("step %d: pod source %s: %v", step, name, r.Error)
				}
				names, at = append(names, name), r.CollectedAt
			}
			clk.SetTime(at)
			theirs, err := promSrc.Refresh(ctx, source.RefreshSpec{Queries: names, Params: params})
			if err != nil {
				t.Fatalf("step %d: prometheus source: %v", step, err)
			}
			for _, name := range names {
				want, got := ours[name], theirs[name]
				if got.Error != nil {
					t.Fatalf("step %d: prometheus source %s: %v", step, name, got.Error)
				}
				if !got.CollectedAt.Equal(want.CollectedAt) {
					t.Errorf("step %d: %s evaluated at %s, the pod source at %s", step, name, got.CollectedAt, want.CollectedAt)
				}
				if (extrapolated[name] || ratios[name] || name == rateOfGauge.Name) && nOurs < 2 {
					continue // one sample: no rate yet on the pod source
				}
				tol := 1e-12
				if extrapolated[name] || ratios[name] || name == rateOfGauge.Name {
					nProm := promSamples(t, prom, at)
					tol = 1.6/float64(nOurs-1) + 1.6/float64(nProm-1)
					if ratios[name] {
						tol *= 2
					}
				}
				if len(got.Values) == 0 && name != llmd.CacheConfigInfo {
					t.Errorf("step %d: %s: Prometheus returned nothing; the comparison would prove nothing", step, name)
				}
				compareSeries(t, fmt.Sprintf("step %d: %s", step, name), got, want, tol)
				if name == rateOfGauge.Name && (len(got.Warnings) == 0 || !slices.Equal(got.Warnings, want.Warnings)) {
					t.Errorf("step %d: %s: warnings %q, the pod source %q; want the same, not none", step, name, got.Warnings, want.Warnings)
				}
				compared[name]++
			}
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
