package serve

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/podscrape/podscrape/podscrapetest"
	"github.com/podscrape/podscrape/serve"
	"github.com/podscrape/podscrape/source"
	"github.com/podscrape/podscrape/source/llmd"
	"github.com/podscrape/podscrape/source/pod"
	promsource "github.com/podscrape/podscrape/source/prometheus"
)

// body is what pod i exposes: distinct values per pod, so a wrong pod shows.
func body(i int) string {
	return fmt.Sprintf(`# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{model_name="m"} %d
# TYPE vllm:kv_cache_usage_perc gauge
vllm:kv_cache_usage_perc{model_name="m"} 0.%d5
`, i+2, i+1)
}

// sameQueries are asked through both backends.
var sameQueries = map[string]string{
	"waiting_sum":   `sum(vllm:num_requests_waiting{model_name="{{.model}}"})`,
	"waiting_bypod": `max by (pod) (vllm:num_requests_waiting{model_name="{{.model}}"})`,
	"kv_bypod":      `avg by (pod) (vllm:kv_cache_usage_perc)`,
	"kv_max":        `max(vllm:kv_cache_usage_perc) * 100`,
}

// byPod maps a result's values by pod ("" for an aggregate).
func byPod(r *source.MetricResult) map[string]float64 {
	out := map[string]float64{}
	for _, v := range r.Values {
		out[v.Labels["pod"]] = v.Value
	}
	return out
}

func TestPrometheusSourceOnServeAnswersAsThePodSource(t *testing.T) {
	svc := newService(t, podscrapetest.ServiceOptions{Name: "vllm", Pods: 2})
	for i, p := range svc.Pods() {
		p.SetBody(body(i))
	}
	base := startServe(t, serve.Config{Services: []serve.ServiceConfig{{Source: sourceConfig(svc)}}, MaxAge: time.Nanosecond})

	podSrc := podSourceOf(t, svc)
	promSrc := promSourceOn(t, base, promsource.PrometheusSourceConfig{})
	for name, q := range sameQueries {
		for _, l := range []*source.QueryList{podSrc.QueryList(), promSrc.QueryList()} {
			l.MustRegister(source.QueryTemplate{Name: name, Type: source.QueryTypePromQL, Template: q})
		}
	}
	names := make([]string, 0, len(sameQueries))
	for name := range sameQueries {
		names = append(names, name)
	}
	spec := source.RefreshSpec{Queries: names, Params: map[string]string{"model": "m"}}
	fromPods, err := podSrc.Refresh(t.Context(), spec)
	if err != nil {
		t.Fatal(err)
	}
	fromServe, err := promSrc.Refresh(t.Context(), spec)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		got, want := byPod(fromServe[name]), byPod(fromPods[name])
		if fromServe[name].Error != nil || fromPods[name].Error != nil {
			t.Errorf("%s: errors serve %v, pods %v", name, fromServe[name].Error, fromPods[name].Error)
		}
		if len(want) == 0 || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: through serve %v, through the pod source %v", name, got, want)
		}
	}

	// Every pod failing: an error through both, never an empty answer.
	for _, p := range svc.Pods() {
		p.SetHandler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "down", http.StatusServiceUnavailable) }))
	}
	_, podErr := podSrc.Refresh(t.Context(), spec)
	served, serveErr := promSrc.Refresh(t.Context(), spec)
	if !errors.Is(podErr, pod.ErrAllPodsFailed) {
		t.Errorf("pod source: %v, want ErrAllPodsFailed", podErr)
	}
	if serveErr == nil {
		t.Fatalf("PrometheusSource over serve: nil error with every pod down; results %v", served)
	}
	var qe *promsource.QueryError
	if r := served["waiting_sum"]; r == nil || !errors.As(r.Error, &qe) || len(r.Values) != 0 {
		t.Errorf("waiting_sum over serve: %+v, want a QueryError and no values", r)
	}
}

// TestSomePodsFailingReadsAsBackendsMdSays holds docs/backends.md's "Through podscrape
// serve" to what a PrometheusSource on serve and the pod source read, for the same pods
// and queries, while one pod of two fails its scrapes: the same answer from the healthy
// pod on both, with the pod source's Error joining the failed pod's *pod.ScrapeError
// (PodValues: ErrPodDown) and serve's answer no Error but a warning naming the pod
// (PodValues: ErrPodNotScraped, no up there); the series' labels the pod source's plus
// serve's job (every pod failing: TestPrometheusSourceOnServeAnswersAsThePodSource).
func TestSomePodsFailingReadsAsBackendsMdSays(t *testing.T) {
	svc := newService(t, podscrapetest.ServiceOptions{Name: "vllm", Pods: 2})
	for i, p := range svc.Pods() {
		p.SetBody(body(i))
	}
	// A query's time, the client's now, is read as now within MaxAge of its arrival, and
	// a query scrapes when the newest scrape is older than MaxAge: serve's answer is of
	// a scrape after the failure once one is that old.
	const maxAge = 200 * time.Millisecond
	base := startServe(t, serve.Config{Services: []serve.ServiceConfig{{Source: sourceConfig(svc)}}, MaxAge: maxAge, Interval: time.Hour})
	podSrc := podSourceOf(t, svc)
	promSrc := promSourceOn(t, base, promsource.PrometheusSourceConfig{DefaultTTL: time.Nanosecond})
	queries := map[string]string{"sum": `sum(vllm:num_requests_waiting)`, "raw": `vllm:num_requests_waiting`}
	for name, q := range queries {
		for _, l := range []*source.QueryList{podSrc.QueryList(), promSrc.QueryList()} {
			l.MustRegister(source.QueryTemplate{Name: name, Type: source.QueryTypePromQL, Template: q})
		}
	}
	spec := source.RefreshSpec{Queries: []string{"sum", "raw"}}
	failed := svc.Pods()[1]
	failed.SetHandler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "down", http.StatusInternalServerError) }))
	fromPods, err := podSrc.Refresh(t.Context(), spec)
	if err != nil {
		t.Fatal(err)
	}
	var fromServe map[string]*source.MetricResult
	for deadline := time.Now().Add(10 * time.Second); ; {
		if fromServe, err = promSrc.Refresh(t.Context(), spec); err != nil {
			t.Fatal(err)
		}
		if len(fromServe["raw"].Values) == 1 || time.Now().After(deadline) {
			break
		}
		time.Sleep(maxAge / 4) // polling until serve's newest scrape is older than MaxAge
	}
	for _, name := range spec.Queries {
		if got, want := byPod(fromServe[name]), byPod(fromPods[name]); len(want) != 1 || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: through serve %v, through the pod source %v; want the healthy pod's answer on both", name, got, want)
		}
	}
	var se *pod.ScrapeError
	if r := fromPods["sum"]; !errors.As(r.Error, &se) || se.Pod != svc.Namespace+"/"+failed.Name {
		t.Errorf("pod source: Error %v; want the failed pod's *pod.ScrapeError", r.Error)
	}
	if _, err := fromPods["raw"].PodValues(failed.Name, "vllm:num_requests_waiting"); !errors.Is(err, source.ErrPodDown) {
		t.Errorf("pod source: PodValues of the failed pod: %v; want ErrPodDown", err)
	}
	if r := fromServe["sum"]; r.Error != nil || !strings.Contains(strings.Join(r.Warnings, "\n"), failed.Name) {
		t.Errorf("through serve: Error %v, warnings %q; want no Error and a warning naming %s", r.Error, r.Warnings, failed.Name)
	}
	if _, err := fromServe["raw"].PodValues(failed.Name, "vllm:num_requests_waiting"); !errors.Is(err, source.ErrPodNotScraped) {
		t.Errorf("through serve: PodValues of the failed pod: %v; want ErrPodNotScraped", err)
	}
	ours, theirs := fromPods["raw"].FirstValue().Labels, maps.Clone(fromServe["raw"].FirstValue().Labels)
	if theirs["job"] != svc.Name {
		t.Errorf("through serve: labels %v; want job=%q", theirs, svc.Name)
	}
	delete(theirs, "job")
	if !maps.Equal(ours, theirs) {
		t.Errorf("labels: through serve %v (job aside), through the pod source %v", theirs, ours)
	}
}

// TestEveryPodDownFailsAtOnceThroughServe: every pod failing, the pod source fails its
// Refresh at once, after one scrape. Through serve the answer is a 503 whose body is
// the API's own error, errorType unavailable ("no data to answer from"): the
// PrometheusSource retried it as a transient 503 for its whole QueryTimeout (8 attempts
// in 8 s, each making serve scrape the failing pods again), holding the autoscaler's
// reconcile, and its every query, that long. It is final: one request, one scrape.
func TestEveryPodDownFailsAtOnceThroughServe(t *testing.T) {
	// Every query scrapes: a MaxAge shorter than the time between the source's clock
	// and the request's arrival is not read as now, and serve answers the 503 of its
	// latest scrape for any time.
	svc, promSrc := waitingThroughServe(t)
	for _, p := range svc.Pods() {
		p.SetHandler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "down", http.StatusServiceUnavailable) }))
	}
	before := svc.Pods()[0].Requests()
	start := time.Now()
	results, err := promSrc.Refresh(t.Context(), source.RefreshSpec{})
	took := time.Since(start)
	var qe *promsource.QueryError
	if !errors.Is(err, promsource.ErrAllQueriesFailed) || !errors.As(results["waiting"].Error, &qe) || !strings.Contains(qe.Error(), "every pod failed") {
		t.Fatalf("through serve: %v (result %v); want ErrAllQueriesFailed and serve's 503 naming the failed pods", err, results["waiting"].Error)
	}
	if qe.Attempts != 1 || took > 2*time.Second {
		t.Errorf("through serve: %d attempts in %s (the pods scraped %d times); want one, at once, as the pod source fails", qe.Attempts, took, svc.Pods()[0].Requests()-before)
	}
}

// TestIncreaseOverAYoungHistoryOnDemand: serve scraping on demand (--max-age, its loop's
// interval long: an hour here, a minute for a loop kept as a backstop), an increase over
// a window longer than its history. Both backends hold the same few seconds of scrapes;
// the pod source answers the values with pod.ErrPartialWindow (a lower bound: hold a
// scale-to-zero), and serve must answer its 422 (serve.md) rather than a 200 with no
// warning: it took a window reaching back less than the loop's interval before the
// first scrape as whole (Prometheus extrapolates over so short a gap), an hour here,
// though its scrapes, the ones the queries made, were a few milliseconds apart and
// Prometheus extrapolates over 1.1 of their spacing only.
func TestIncreaseOverAYoungHistoryOnDemand(t *testing.T) {
	svc := newService(t, podscrapetest.ServiceOptions{Name: "vllm", Pods: 1, Body: "# TYPE req counter\nreq_total 10\n"})
	base := startServe(t, serve.Config{Services: []serve.ServiceConfig{{Source: sourceConfig(svc)}}, MaxAge: time.Nanosecond, Interval: time.Hour})
	podSrc := podSourceOf(t, svc)
	promSrc := promSourceOn(t, base, promsource.PrometheusSourceConfig{})
	q := source.QueryTemplate{Name: "requests", Type: source.QueryTypePromQL, Template: `sum(increase(req_total[1m]))`}
	podSrc.QueryList().MustRegister(q)
	promSrc.QueryList().MustRegister(q)
	spec := source.RefreshSpec{Queries: []string{q.Name}}
	for range 3 {
		svc.Pods()[0].SetBody("# TYPE req counter\nreq_total 20\n")
		if _, err := podSrc.Refresh(t.Context(), spec); err != nil {
			t.Fatal(err)
		}
		_, _ = promSrc.Refresh(t.Context(), spec)
	}
	fromPods, err := podSrc.Refresh(t.Context(), spec)
	if err != nil {
		t.Fatal(err)
	}
	if r := fromPods[q.Name]; !errors.Is(r.Error, pod.ErrPartialWindow) || len(r.Values) != 1 {
		t.Fatalf("pod source: %+v; want the values and ErrPartialWindow", r)
	}
	fromServe, _ := promSrc.Refresh(t.Context(), spec)
	var apiErr *v1.Error
	if r := fromServe[q.Name]; !errors.As(r.Error, &apiErr) || apiErr.Type != v1.ErrExec || !strings.Contains(r.Error.Error(), "partial window") {
		t.Errorf("through serve: values %v, Error %v, warnings %q; want serve's 422 partial window, as the pod source's ErrPartialWindow", r.Values, r.Error, r.Warnings)
	}
}

// TestAutoscalerQueriesThroughServeAnswerAsThePodSource runs the autoscaler's queries
// (source/llmd: vLLM's over simulated vLLM pods of two variants, the scheduler's over
// simulated EPPs) through a PrometheusSource on serve and through the pod source, step
// after step: both scrape each step's expositions (serve on demand, --max-age), so every
// query answers the same series (serve's job aside) with an Error on one side only where
// the other has one too (a model_request_count window longer than either history: the
// pod source's ErrPartialWindow, serve's 422); instant and max_over_time answers are
// equal, ratios of rates equal to float rounding. Rates alone differ, by where each
// side's scrapes fall in the window (Prometheus' extrapolation): their series are
// compared.
func TestAutoscalerQueriesThroughServeAnswerAsThePodSource(t *testing.T) {
	vllm := []string{"vllm-0", "vllm-1", "vllm-2"}
	epps := []string{"epp-0", "epp-1"}
	sim := podscrapetest.NewSimulation(podscrapetest.SimulationOptions{Seed: 7, EPPPods: epps, VLLMPods: vllm})
	t.Run("vllm", func(t *testing.T) {
		svc := newService(t, podscrapetest.ServiceOptions{Name: "vllm", PodNames: vllm, Simulation: sim, PodLabels: map[string]map[string]string{
			"vllm-0": {llmd.VariantLabel: "a"}, "vllm-1": {llmd.VariantLabel: "b"}, "vllm-2": {llmd.VariantLabel: "a"},
		}})
		compareThroughServe(t, svc, sim, llmd.VLLMQueries(),
			map[string]bool{llmd.KVCacheUsage: true, llmd.KVUsageInstant: true, llmd.QueueLength: true, llmd.CacheConfigInfo: true},
			map[string]bool{llmd.AvgOutputTokens: true, llmd.AvgInputTokens: true, llmd.PrefixCacheHitRate: true, llmd.AvgTTFT: true, llmd.AvgITL: true})
	})
	t.Run("epp", func(t *testing.T) {
		svc := newService(t, podscrapetest.ServiceOptions{Name: "epp", PodNames: epps, Simulation: sim})
		compareThroughServe(t, svc, sim, llmd.SchedulerQueries(),
			map[string]bool{llmd.SchedulerQueueSize: true, llmd.SchedulerQueueBytes: true}, nil)
	})
}

// compareThroughServe registers qs on a pod source and on a PrometheusSource on serve,
// both over svc with the variant label mapped, and compares their answers at each of 4
// steps of sim: exact[name] values equal, ratios[name] to 1e-9, the others by series.
func compareThroughServe(t *testing.T, svc *podscrapetest.Service, sim *podscrapetest.Simulation, qs []source.QueryTemplate, exact, ratios map[string]bool) {
	cfg := sourceConfig(svc)
	cfg.PodLabels = llmd.PodLabels()
	const maxAge = 100 * time.Millisecond
	base := startServe(t, serve.Config{Services: []serve.ServiceConfig{{Source: cfg}}, MaxAge: maxAge, Interval: time.Hour})
	podSrc, err := pod.NewPodScrapingSource(t.Context(), env.Client, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer podSrc.Close()
	client, err := api.NewClient(api.Config{Address: base})
	if err != nil {
		t.Fatal(err)
	}
	promAPI := v1.NewAPI(client)
	promSrc := promsource.NewPrometheusSource(t.Context(), promAPI, promsource.PrometheusSourceConfig{})
	for _, l := range []*source.QueryList{podSrc.QueryList(), promSrc.QueryList()} {
		if err := llmd.Register(l, qs); err != nil {
			t.Fatal(err)
		}
	}
	spec := source.RefreshSpec{Queries: namesOf(qs), Params: map[string]string{
		source.ParamNamespace: svc.Namespace, source.ParamModelID: "Qwen/Qwen3-0.6B", llmd.ParamRetentionPeriod: "1m",
	}}
	// The expositions of the step before, which serve scraped at its start.
	if _, err := podSrc.Refresh(t.Context(), spec); err != nil {
		t.Fatal(err)
	}
	for step := 1; step <= 4; step++ {
		sim.Step()
		stepped := time.Now()
		fromPods, err := podSrc.Refresh(t.Context(), spec)
		if err != nil {
			t.Fatal(err)
		}
		// Serve scrapes for a query once its newest scrape is older than MaxAge.
		for deadline := time.Now().Add(10 * time.Second); ; {
			v, _, _, err := promAPI.Query(t.Context(), "min(timestamp(up))", time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if vec, ok := v.(model.Vector); ok && len(vec) == 1 && float64(vec[0].Value) > float64(stepped.UnixMilli())/1000 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("step %d: serve did not scrape within 10s", step)
			}
			time.Sleep(maxAge / 4) // polling until serve's newest scrape is older than MaxAge
		}
		fromServe, err := promSrc.Refresh(t.Context(), spec)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range spec.Queries {
			ours, theirs := fromPods[name], fromServe[name]
			if (ours.Error == nil) != (theirs.Error == nil) {
				t.Errorf("step %d: %s: Error through the pod source %v, through serve %v", step, name, ours.Error, theirs.Error)
				continue
			}
			if ours.Error != nil {
				continue
			}
			o, s := seriesOf(ours), seriesOf(theirs)
			if len(o) == 0 && name != llmd.ModelRequestCount {
				t.Errorf("step %d: %s: no answer; the comparison would prove nothing", step, name)
			}
			for k, v := range o {
				w, ok := s[k]
				switch {
				case !ok:
					t.Errorf("step %d: %s: the pod source has %s = %v, serve no such series (its: %v)", step, name, k, v, s)
				case exact[name] && v != w, ratios[name] && !(math.IsNaN(v) && math.IsNaN(w)) && math.Abs(v-w) > 1e-9*math.Max(math.Abs(v), math.Abs(w)):
					t.Errorf("step %d: %s%s = %v through the pod source, %v through serve", step, name, k, v, w)
				}
			}
			if len(s) != len(o) {
				t.Errorf("step %d: %s: serve has %d series, the pod source %d: %v, %v", step, name, len(s), len(o), s, o)
			}
		}
	}
}

// namesOf returns the names of qs.
func namesOf(qs []source.QueryTemplate) []string {
	out := make([]string, len(qs))
	for i, q := range qs {
		out[i] = q.Name
	}
	return out
}

// seriesOf maps r's values by their labels, serve's job aside.
func seriesOf(r *source.MetricResult) map[string]float64 {
	out := map[string]float64{}
	for _, v := range r.Values {
		l := maps.Clone(v.Labels)
		delete(l, "job")
		out[fmt.Sprint(l)] = v.Value
	}
	return out
}

// podSourceOf is a pod source of svc's pods, closed with the test.
func podSourceOf(t *testing.T, svc *podscrapetest.Service) *pod.PodScrapingSource {
	t.Helper()
	src, err := pod.NewPodScrapingSource(t.Context(), env.Client, sourceConfig(svc))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(src.Close)
	return src
}

// waitingThroughServe serves a Service of two vLLM pods with serve scraping at every query
// (MaxAge 1ns, an interval of an hour), and returns it with a Prometheus source reading
// that serve (QueryTimeout 10 s) on which the query "waiting",
// sum(vllm:num_requests_waiting), is registered.
func waitingThroughServe(t *testing.T) (*podscrapetest.Service, *promsource.PrometheusSource) {
	t.Helper()
	svc := newService(t, podscrapetest.ServiceOptions{Name: "vllm", Pods: 2})
	for i, p := range svc.Pods() {
		p.SetBody(body(i))
	}
	base := startServe(t, serve.Config{Services: []serve.ServiceConfig{{Source: sourceConfig(svc)}}, MaxAge: time.Nanosecond, Interval: time.Hour})
	promSrc := promSourceOn(t, base, promsource.PrometheusSourceConfig{QueryTimeout: 10 * time.Second})
	promSrc.QueryList().MustRegister(source.QueryTemplate{Name: "waiting", Type: source.QueryTypePromQL, Template: `sum(vllm:num_requests_waiting)`})
	return svc, promSrc
}

// promSourceOn is a Prometheus source reading the server at base (serve) with cfg.
func promSourceOn(t *testing.T, base string, cfg promsource.PrometheusSourceConfig) *promsource.PrometheusSource {
	t.Helper()
	client, err := api.NewClient(api.Config{Address: base})
	if err != nil {
		t.Fatal(err)
	}
	return promsource.NewPrometheusSource(t.Context(), v1.NewAPI(client), cfg)
}
