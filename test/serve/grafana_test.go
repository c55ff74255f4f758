package serve

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/podscrape/podscrape/internal/promserver"
	"github.com/podscrape/podscrape/podscrapetest"
	"github.com/podscrape/podscrape/serve"
)

// panelQuery is one target of a dashboard panel: its PromQL as the dashboard holds it
// (Grafana's macros and the dashboard's variables unexpanded), and the panel's minimum
// interval ("interval" in the JSON; zero: none).
type panelQuery struct {
	dashboard, panel, expr string
	interval               time.Duration
}

// The dashboards users open on serve, their panels' expressions copied as they are
// upstream (whole dashboards are not vendored):
//
//   - vLLM: vllm-project/vllm, examples/observability/prometheus_grafana/grafana.json at
//     commit 4b5c627c23e6690b8987100d1cbf78e34ac14bf9 ("vLLM"). Variable
//     label_values(model_name).
//   - llm-d: llm-d/llm-d, observability/dashboards/llm-d-dashboard.json at commit
//     6449c527eee7f460796953b305f6d2be2dc4b441 ("llm-d dashboard"; most panels with a
//     10m minimum interval). Variables label_values(vllm:generation_tokens_total,
//     model_name) and label_values(namespace).
//   - EPP: llm-d/llm-d-router, deploy/grafana/inference_gateway.json at commit
//     7a6dee0768a71dfa3d99a40b27d3b0b9aedc327f (the last before the dashboard left the
//     repository, with the llm_d_epp_* names of the ebab687 fixtures). No variables.
var (
	vllmDashboard = func() []panelQuery {
		const d = "vllm"
		m := `{model_name="$model_name"}`
		var out []panelQuery
		for _, h := range []struct{ panel, metric string }{
			{"E2E Request Latency", "vllm:e2e_request_latency_seconds"},
			{"Inter Token Latency", "vllm:inter_token_latency_seconds"},
			{"Time To First Token Latency", "vllm:time_to_first_token_seconds"},
		} {
			for _, q := range []string{"0.99", "0.95", "0.9", "0.5"} {
				out = append(out, panelQuery{d, h.panel, "histogram_quantile(" + q + ", sum by(le) (rate(" + h.metric + "_bucket" + m + "[$__rate_interval])))", 0})
			}
			out = append(out, panelQuery{d, h.panel, "rate(" + h.metric + "_sum" + m + "[$__rate_interval])\n/\nrate(" + h.metric + "_count" + m + "[$__rate_interval])", 0})
		}
		for _, p := range []struct{ panel, expr string }{
			{"Token Throughput", "rate(vllm:prompt_tokens_total" + m + "[$__rate_interval])"},
			{"Token Throughput", "rate(vllm:generation_tokens_total" + m + "[$__rate_interval])"},
			{"Scheduler State", "vllm:num_requests_running" + m},
			{"Scheduler State", "vllm:num_requests_waiting" + m},
			{"Cache Utilization", "vllm:kv_cache_usage_perc" + m},
			{"Request Prompt Length", "sum by(le) (increase(vllm:request_prompt_tokens_bucket" + m + "[$__rate_interval]))"},
			{"Request Generation Length", "sum by(le) (increase(vllm:request_generation_tokens_bucket" + m + "[$__rate_interval]))"},
			{"Finish Reason", "sum by(finished_reason) (increase(vllm:request_success_total" + m + "[$__rate_interval]))"},
			{"Queue Time", "rate(vllm:request_queue_time_seconds_sum" + m + "[$__rate_interval])"},
			{"Requests Prefill and Decode Time", "rate(vllm:request_prefill_time_seconds_sum" + m + "[$__rate_interval])"},
			{"Requests Prefill and Decode Time", "rate(vllm:request_decode_time_seconds_sum" + m + "[$__rate_interval])"},
			{"Max Generation Token in Sequence Group", "rate(vllm:request_max_num_generation_tokens_sum" + m + "[$__rate_interval])"},
		} {
			out = append(out, panelQuery{d, p.panel, p.expr, 0})
		}
		return out
	}()

	llmdDashboard = func() []panelQuery {
		const d = "llm-d"
		m := `{model_name="$model_name",namespace="$namespace"}`
		tenMin := 10 * time.Minute
		var out []panelQuery
		for _, h := range []struct{ panel, metric string }{
			{"E2E Request Latency", "vllm:e2e_request_latency_seconds"},
			{"Time Per Output Token Latency", "vllm:time_per_output_token_seconds"},
			{"Time To First Token Latency", "vllm:time_to_first_token_seconds"},
		} {
			for _, q := range []string{"0.99", "0.95", "0.9", "0.5"} {
				out = append(out, panelQuery{d, h.panel, "histogram_quantile(" + q + ", sum by(le) (rate(" + h.metric + "_bucket" + m + "[$__rate_interval])))", tenMin})
			}
			out = append(out, panelQuery{d, h.panel, "rate(" + h.metric + "_sum" + m + "[$__rate_interval])\n/\nrate(" + h.metric + "_count" + m + "[$__rate_interval])", tenMin})
		}
		for _, p := range []struct {
			panel, expr string
			interval    time.Duration
		}{
			{"Token Throughput", "rate(vllm:prompt_tokens_total" + m + "[$__rate_interval])", tenMin},
			{"Token Throughput", "rate(vllm:generation_tokens_total" + m + "[$__rate_interval])", tenMin},
			{"Scheduler State", "vllm:num_requests_running" + m, 0},
			{"Scheduler State", "vllm:num_requests_swapped" + m, 0},
			{"Scheduler State", "vllm:num_requests_waiting" + m, 0},
			{"Cache Utilization", "vllm:gpu_cache_usage_perc" + m, 0},
			{"Cache Utilization", "vllm:cpu_cache_usage_perc" + m, 0},
			{"Request Prompt Length", "sum by(le) (increase(vllm:request_prompt_tokens_bucket" + m + "[$__rate_interval]))", tenMin},
			{"Request Generation Length", "sum by(le) (increase(vllm:request_generation_tokens_bucket" + m + "[$__rate_interval]))", tenMin},
			{"Finish Reason", "sum by(finished_reason) (increase(vllm:request_success_total" + m + "[$__rate_interval]))", tenMin},
			{"Queue Time", "rate(vllm:request_queue_time_seconds_sum" + m + "[$__rate_interval])", tenMin},
			{"Requests Prefill and Decode Time", "rate(vllm:request_prefill_time_seconds_sum" + m + "[30m])", 0},
			{"Requests Prefill and Decode Time", "rate(vllm:request_decode_time_seconds_sum" + m + "[30m])", 0},
			{"Max Generation Token in Sequence Group", "rate(vllm:request_max_num_generation_tokens_sum" + m + "[$__rate_interval])", 0},
		} {
			out = append(out, panelQuery{d, p.panel, p.expr, p.interval})
		}
		return out
	}()

	eppDashboard = func() []panelQuery {
		const d = "epp"
		var out []panelQuery
		add := func(panel string, exprs ...string) {
			for _, e := range exprs {
				out = append(out, panelQuery{d, panel, e, 0})
			}
		}
		quantiles := func(panel, metric string) {
			for _, q := range []string{"0.95", "0.9", "0.5"} {
				add(panel, "histogram_quantile("+q+", sum by(le) (rate("+metric+"_bucket{}[$__rate_interval])))")
			}
		}
		add("Average KV Cache Utilization", "sum by(name) (llm_d_epp_average_kv_cache_utilization)")
		add("Average Queue Size", "sum by(name) (llm_d_epp_average_queue_size)")
		add("Queue Size Per Endpoint", "sum by(name, model_server_endpoint, pod) (llm_d_epp_per_endpoint_queue_size)")
		quantiles("E2E Request Latency", "llm_d_epp_request_duration_seconds")
		add("Request / s", "sum by(model_name, target_model_name) (rate(llm_d_epp_request_total{}[$__rate_interval]))")
		add("Request Error / s", "sum by(error_code, model_name, target_model_name) (rate(llm_d_epp_request_error_total[$__rate_interval]))")
		quantiles("Request Size", "llm_d_epp_request_size_bytes")
		quantiles("Response Size", "llm_d_epp_response_size_bytes")
		quantiles("Input Token Count", "llm_d_epp_request_input_tokens")
		quantiles("Output Token Count", "llm_d_epp_request_output_tokens")
		add("Pool Saturation", "max by(inference_pool) (llm_d_epp_flow_control_pool_saturation)")
		add("Net Queue Flow", "sum(deriv(llm_d_epp_flow_control_queue_size[$__rate_interval]))")
		top := func(inner, sel, window string) string {
			return "topk(10, sum by (priority, fairness_id) (" + inner + "(" + sel + "[" + window + "])))"
		}
		topRate := func(sel string) string { return top("rate", sel, "$__range") }
		topMax := func(sel string) string { return top("max_over_time", sel, "$__range") }
		enq := "llm_d_epp_flow_control_request_enqueue_duration_seconds_count"
		add("Request Arrival Rate",
			"sum by (priority, fairness_id) (rate("+enq+"[$__rate_interval])) and on(priority, fairness_id) "+topRate(enq),
			"sum(rate("+enq+"[$__rate_interval])) - sum(sum by (priority, fairness_id) (rate("+enq+"[$__rate_interval])) and on(priority, fairness_id) "+topRate(enq)+")")
		for _, g := range []struct{ panel, metric string }{
			{"Queue Depth", "llm_d_epp_flow_control_queue_size"},
			{"Queue Memory Mass", "llm_d_epp_flow_control_queue_bytes"},
		} {
			add(g.panel,
				"sum by (priority, fairness_id) ("+g.metric+") and on(priority, fairness_id) "+topMax(g.metric),
				"sum("+g.metric+") - sum(sum by (priority, fairness_id) ("+g.metric+") and on(priority, fairness_id) "+topMax(g.metric)+")")
		}
		qd := "llm_d_epp_flow_control_request_queue_duration_seconds_count"
		add("Dispatch Outcomes",
			"sum by (priority, fairness_id, outcome) (rate("+qd+"[$__rate_interval])) and on(priority, fairness_id) "+topRate(qd),
			"sum by (outcome) (rate("+qd+"[$__rate_interval])) - sum by (outcome) (sum by (priority, fairness_id, outcome) (rate("+qd+"[$__rate_interval])) and on(priority, fairness_id) "+topRate(qd)+")")
		add("Wait Time (P99)", "histogram_quantile(0.99, sum by (priority, fairness_id, le) (rate(llm_d_epp_flow_control_request_queue_duration_seconds_bucket[$__rate_interval]))) > 0 and on(priority, fairness_id) sum by (priority, fairness_id) (rate("+enq+"[$__rate_interval])) > 0.05")
		add("Internal Processing Latency (P99)",
			"histogram_quantile(0.99, sum by (le) (rate(llm_d_epp_flow_control_dispatch_cycle_duration_seconds_bucket[$__rate_interval]))) > 0",
			"histogram_quantile(0.99, sum by (le) (rate(llm_d_epp_flow_control_request_enqueue_duration_seconds_bucket[$__rate_interval]))) > 0")
		disp := qd + `{outcome="Dispatched"}`
		add("Fairness Sharing Rate",
			"sum by (priority, fairness_id) (rate("+disp+"[$__rate_interval])) and on(priority, fairness_id) "+topRate(disp),
			"sum(rate("+disp+"[$__rate_interval])) - sum(sum by (priority, fairness_id) (rate("+disp+"[$__rate_interval])) and on(priority, fairness_id) "+topRate(disp)+")")
		return out
	}()
)

// grafanaScrapeInterval is the data source's "scrape interval" setting, the scrape
// interval of both serve and Prometheus in the test: the minimum $__interval and the unit
// of $__rate_interval.
const grafanaScrapeInterval = time.Second

// grafanaRequest is the query_range request Grafana's Prometheus data source (its
// backend, pkg/promlib) sends for expr over [from, to] with a panel minimum interval:
// $__interval the larger of the panel's interval, the data source's scrape interval and
// the range over maxDataPoints; $__rate_interval max($__interval + scrape interval, 4 *
// scrape interval) as a Go duration; $__range the range's seconds, rounded, with "s";
// step $__interval; start and end aligned down to the step.
func grafanaRequest(expr string, vars map[string]string, from, to time.Time, panelInterval time.Duration) url.Values {
	const maxDataPoints = 1000
	interval := max(panelInterval, grafanaScrapeInterval, to.Sub(from)/maxDataPoints)
	interval = interval.Round(time.Second)
	rate := max(interval+grafanaScrapeInterval, 4*grafanaScrapeInterval)
	rangeS := int64(math.Round(to.Sub(from).Seconds()))
	for name, v := range vars {
		expr = strings.ReplaceAll(expr, "$"+name, v)
	}
	expr = strings.ReplaceAll(expr, "$__rate_interval", rate.String())
	expr = strings.ReplaceAll(expr, "$__range", strconv.FormatInt(rangeS, 10)+"s")
	expr = strings.ReplaceAll(expr, "$__interval", interval.String())
	step := int64(interval / time.Second)
	start := from.Unix() / step * step
	end := to.Unix() / step * step
	return url.Values{
		"query": {expr}, "start": {strconv.FormatInt(start, 10)}, "end": {strconv.FormatInt(end, 10)},
		"step": {strconv.FormatInt(step, 10)},
	}
}

// growingFixture serves the fixture file name as a pod whose counters and histograms
// (every sample of a counter, histogram or summary family) grow linearly from their
// values in the file, by that value every 10 seconds since t0, and whose gauges keep
// theirs: so that rates are not zero and quantiles of rates are the file's.
func growingFixture(t *testing.T, name string, t0 time.Time) http.Handler {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	type line struct {
		text    string
		grows   bool
		prefix  string // the sample's name and labels, with the space after them
		value   float64
		trailer string // a timestamp, when the line has one
	}
	var lines []line
	growing := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if f := strings.Fields(l); len(f) == 4 && f[0] == "#" && f[1] == "TYPE" {
			growing[f[2]] = f[3] == "counter" || f[3] == "histogram" || f[3] == "summary"
		}
		if l == "" || l[0] == '#' {
			lines = append(lines, line{text: l})
			continue
		}
		end := strings.LastIndexByte(l, '}')
		if end < 0 {
			end = strings.IndexByte(l, ' ') - 1
		}
		rest := strings.Fields(l[end+1:])
		v, err := strconv.ParseFloat(rest[0], 64)
		if err != nil {
			t.Fatalf("%s: %q: %v", name, l, err)
		}
		metric := l[:strings.IndexAny(l, "{ ")]
		family := metric
		for _, suffix := range []string{"_bucket", "_sum", "_count", "_total"} {
			if f := strings.TrimSuffix(metric, suffix); f != metric {
				if _, ok := growing[f]; ok {
					family = f
				}
			}
		}
		ln := line{text: l, grows: growing[family], prefix: l[:end+1] + " ", value: v}
		if len(rest) > 1 {
			ln.trailer = " " + strings.Join(rest[1:], " ")
		}
		lines = append(lines, ln)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		f := 1 + time.Since(t0).Seconds()/10
		var sb strings.Builder
		for _, l := range lines {
			if !l.grows {
				sb.WriteString(l.text)
			} else {
				sb.WriteString(l.prefix + strconv.FormatFloat(l.value*f, 'g', -1, 64) + l.trailer)
			}
			sb.WriteByte('\n')
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = w.Write([]byte(sb.String()))
	})
}

// TestGrafanaDashboardsAsPrometheus sends the queries of the real dashboards users open on
// serve (vLLM's, llm-d's, the llm-d EPP's: see vllmDashboard) as Grafana sends them, to
// serve and to the real Prometheus server scraping the same pods (the fixtures of two
// vLLM simulator versions behind Service vllm, the llm-d EPP behind Service epp, their
// counters and histograms growing), and compares the answers: status, error, warnings,
// series, timestamps, and values (gauges exactly; rates within stepRateTolerance at
// each step, their medians over the steps within rateTolerance). It also
// asks the dashboards' template variables as Grafana does (label values with match[],
// start and end; series).
func TestGrafanaDashboardsAsPrometheus(t *testing.T) {
	t0 := time.Now()
	vllm := newService(t, podscrapetest.ServiceOptions{Name: "vllm", Pods: 2})
	epp := newService(t, podscrapetest.ServiceOptions{Name: "epp", Namespace: vllm.Namespace, Pods: 1})
	vllm.Pods()[0].SetHandler(growingFixture(t, "vllm-sim-eec055a-live.txt", t0))
	vllm.Pods()[1].SetHandler(growingFixture(t, "vllm-sim-metrics.txt", t0))
	epp.Pods()[0].SetHandler(growingFixture(t, "llm-d-epp-ebab687-live.txt", t0))

	base := startServe(t, serve.Config{Services: []serve.ServiceConfig{{Source: sourceConfig(vllm)}, {Source: sourceConfig(epp)}}, Interval: time.Second})
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := env.WriteKubeconfig(kubeconfig, vllm.Namespace); err != nil {
		t.Fatal(err)
	}
	jobs := []promserver.PodJob{
		{Name: vllm.Name, Namespace: vllm.Namespace, Selector: "app=" + vllm.Name, Port: int(vllm.Port)},
		{Name: epp.Name, Namespace: epp.Namespace, Selector: "app=" + epp.Name, Port: int(epp.Port)},
	}
	prom := startPrometheus(t, promserver.PodScrapeConfig(kubeconfig, time.Second, jobs...))
	// The panels' windows are $__rate_interval, 4s: every step of a range of 8 seconds
	// ending now has 4 seconds of Prometheus' scrapes behind it once it has scraped for 14.
	const scrapes = 14
	deadline := time.Now().Add(time.Minute)
	for {
		_, e := get(t, prom.URL, "/api/v1/query", url.Values{"query": {fmt.Sprintf("count(count_over_time(up[%ds]) >= %d)", scrapes+1, scrapes)}})
		if r, _ := e.Data.(map[string]any)["result"].([]any); len(r) == 1 && r[0].(map[string]any)["value"].([]any)[1] == "3" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Prometheus has not scraped the 3 pods %d times in a minute: %+v", scrapes, e)
		}
		time.Sleep(100 * time.Millisecond) // polling Prometheus' answer
	}

	vars := map[string]string{"model_name": "fake-model", "namespace": vllm.Namespace}
	to := time.Now()
	from := to.Add(-8 * time.Second)
	compareDashboards(t, base, prom.URL, vars, from, to, t0, false)
	// The dashboards' own ranges: vLLM's last 5 minutes, llm-d's last 12 hours (the EPP's
	// is a fixed range of 2025: its last hour instead), most of them before either
	// history.
	compareDashboards(t, base, prom.URL, vars, to.Add(-5*time.Minute), to, t0, true)

	// The template variables: label_values(model_name), label_values(namespace),
	// label_values(vllm:generation_tokens_total, model_name), as Grafana asks them (whole
	// seconds around the range, its limit), and the series endpoint older Grafanas ask
	// for the last.
	startS, endS := strconv.FormatInt(from.Unix(), 10), strconv.FormatInt(to.Unix()+1, 10)
	for _, tc := range []struct {
		path   string
		params url.Values
	}{
		{"/api/v1/label/model_name/values", url.Values{"start": {startS}, "end": {endS}, "limit": {"40000"}}},
		{"/api/v1/label/namespace/values", url.Values{"start": {startS}, "end": {endS}, "limit": {"40000"}}},
		{"/api/v1/label/model_name/values", url.Values{"match[]": {"vllm:generation_tokens_total"}, "start": {startS}, "end": {endS}, "limit": {"40000"}}},
		{"/api/v1/series", url.Values{"match[]": {"vllm:generation_tokens_total"}, "start": {startS}, "end": {endS}}},
	} {
		name := tc.path + "?" + tc.params.Encode()
		sc, se := get(t, base, tc.path, tc.params)
		pc, pe := get(t, prom.URL, tc.path, tc.params)
		normalize(se.Data)
		normalize(pe.Data)
		if sc != pc || se.Status != pe.Status || se.Error != pe.Error || !slices.Equal(se.Warnings, pe.Warnings) || !reflect.DeepEqual(se.Data, pe.Data) {
			t.Errorf("%s:\nserve      %d %q %q %v\nprometheus %d %q %q %v", name, sc, se.Error, se.Warnings, se.Data, pc, pe.Error, pe.Warnings, pe.Data)
		}
	}
}

// compareDashboards sends every dashboard query over [from, to] as Grafana does to serve
// (base) and Prometheus (promURL), and compares the answers. serve's history starts after
// t0: an answer that differs only by serve's documented partial-window error (422) or
// warning, for a query whose first window reaches before t0, is counted as that
// documented difference, its series and timestamps still compared when it answers.
func compareDashboards(t *testing.T, base, promURL string, vars map[string]string, from, to, t0 time.Time, lead bool) {
	t.Helper()
	var compared, numbers, empty, documented, unsettledSteps int
	for _, dash := range [][]panelQuery{vllmDashboard, llmdDashboard, eppDashboard} {
		for _, q := range dash {
			params := grafanaRequest(q.expr, vars, from, to, q.interval)
			name := fmt.Sprintf("%s %q: %s", q.dashboard, q.panel, params.Get("query"))
			sc, se := get(t, base, "/api/v1/query_range", params)
			pc, pe := get(t, promURL, "/api/v1/query_range", params)
			normalize(se.Data)
			normalize(pe.Data)
			compared++
			partial := reachesBefore(params, t0) && pc == http.StatusOK && len(pe.Warnings) == 0
			switch {
			case partial && sc == http.StatusUnprocessableEntity && strings.HasPrefix(se.Error, "partial window: "):
				documented++
				continue
			case partial && sc == http.StatusOK && len(se.Warnings) > 0 && allPartial(se.Warnings):
				documented++
				if diff := matrixDiff(se.Data, pe.Data, true, false, lead); diff != "" {
					t.Errorf("%s (warned of a partial window): %s", name, diff)
				}
				continue
			}
			if sc != pc || se.Status != pe.Status || se.ErrorType != pe.ErrorType || se.Error != pe.Error || !slices.Equal(se.Warnings, pe.Warnings) {
				t.Errorf("%s:\nserve      %d %s %s %q %q\nprometheus %d %s %s %q %q", name, sc, se.Status, se.ErrorType, se.Error, se.Warnings, pc, pe.Status, pe.ErrorType, pe.Error, pe.Warnings)
				continue
			}
			if pc != http.StatusOK {
				t.Errorf("%s: both answered %d %q", name, pc, pe.Error)
				continue
			}
			w := windowed(params.Get("query"))
			if w {
				// Steps whose windows lack a scrape on either side are Prometheus' or
				// serve's timing (a scrape late on a busy machine): their rates
				// extrapolate differently, as Prometheus' own would. Left out.
				skip := unsettled(t, base, promURL, params)
				dropSteps(se.Data, skip)
				dropSteps(pe.Data, skip)
				unsettledSteps += len(skip)
			}
			if diff := matrixDiff(se.Data, pe.Data, w, true, lead); diff != "" {
				sj, _ := json.Marshal(se.Data)
				pj, _ := json.Marshal(pe.Data)
				t.Errorf("%s: %s\nserve      %s\nprometheus %s", name, diff, sj, pj)
				continue
			}
			if r, _ := pe.Data.(map[string]any)["result"].([]any); len(r) == 0 {
				empty++
			} else if nonNaN(pe.Data) {
				numbers++
			}
		}
	}
	t.Logf("over %s: %d panel queries compared: %d answered alike with a number, %d empty on both (a metric no fixture has: not exercised), %d serve's documented partial window; %d steps of rates left out (a window short of 4 scrapes on either side: before a history, or a late scrape)", to.Sub(from), compared, numbers, empty, documented, unsettledSteps)
}

// windowRE finds a PromQL range or subquery duration.
var windowRE = regexp.MustCompile(`\[([0-9a-z]+)(:[0-9a-z]*)?\]`)

// reachesBefore reports whether the query_range request params has a window, from its
// first step, that starts before t.
func reachesBefore(params url.Values, t time.Time) bool {
	start, _ := strconv.ParseInt(params.Get("start"), 10, 64)
	for _, m := range windowRE.FindAllStringSubmatch(params.Get("query"), -1) {
		d, err := model.ParseDuration(m[1])
		if err == nil && time.Unix(start, 0).Add(-time.Duration(d)).Before(t) {
			return true
		}
	}
	return false
}

// allPartial reports whether every warning is serve's partial-window warning.
func allPartial(warnings []string) bool {
	for _, w := range warnings {
		if !strings.HasPrefix(w, "partial window: ") {
			return false
		}
	}
	return true
}

// windowed reports whether expr takes a rate, an increase or a derivative: its values
// depend on when each side scraped, within rateTolerance.
func windowed(expr string) bool {
	return strings.Contains(expr, "rate(") || strings.Contains(expr, "increase(") || strings.Contains(expr, "deriv(")
}

// nonNaN reports whether a matrix holds a value that is a number.
func nonNaN(data any) bool {
	r, _ := data.(map[string]any)["result"].([]any)
	for _, s := range r {
		vals, _ := s.(map[string]any)["values"].([]any)
		for _, v := range vals {
			if x, _ := v.([]any)[1].(string); x != "NaN" {
				return true
			}
		}
	}
	return false
}

// matrixDiff compares two normalized query_range data: the same result type, series
// (labels), timestamps, and, when values, values: equal or, when windowed, within
// rateTolerance (NaN equal to NaN). When lead, serve's history may start before
// Prometheus' (serve started first): its points before Prometheus' first are left out.
// It returns the first difference, or "".
func matrixDiff(s, p any, windowed, values, lead bool) string {
	sd, _ := s.(map[string]any)
	pd, _ := p.(map[string]any)
	if sd["resultType"] != pd["resultType"] {
		return fmt.Sprintf("resultType %v, prometheus %v", sd["resultType"], pd["resultType"])
	}
	sr, _ := sd["result"].([]any)
	pr, _ := pd["result"].([]any)
	if len(sr) != len(pr) {
		return fmt.Sprintf("%d series, prometheus %d", len(sr), len(pr))
	}
	for i := range sr {
		sm, pm := sr[i].(map[string]any), pr[i].(map[string]any)
		if !reflect.DeepEqual(sm["metric"], pm["metric"]) {
			return fmt.Sprintf("series %d: %v, prometheus %v", i, sm["metric"], pm["metric"])
		}
		sv, _ := sm["values"].([]any)
		pv, _ := pm["values"].([]any)
		for lead && len(sv) > len(pv) && len(pv) > 0 && stamp(sv[0]) < stamp(pv[0]) {
			sv = sv[1:]
		}
		if len(sv) != len(pv) {
			return fmt.Sprintf("series %v: %d points, prometheus %d", sm["metric"], len(sv), len(pv))
		}
		var xs, ys []float64 // a windowed series' values, for their medians
		for j := range sv {
			a, b := sv[j].([]any), pv[j].([]any)
			if a[0] != b[0] {
				return fmt.Sprintf("series %v point %d at %v, prometheus at %v", sm["metric"], j, a[0], b[0])
			}
			if !values {
				continue
			}
			x, _ := strconv.ParseFloat(a[1].(string), 64)
			y, _ := strconv.ParseFloat(b[1].(string), 64)
			if windowed && !math.IsNaN(x) && !math.IsNaN(y) {
				xs, ys = append(xs, x), append(ys, y)
			}
			switch {
			case math.IsNaN(x) && math.IsNaN(y), x == y:
			case windowed && math.Abs(x-y) <= stepRateTolerance*math.Max(math.Abs(x), math.Abs(y)):
			default:
				return fmt.Sprintf("series %v at %v: %v, prometheus %v", sm["metric"], a[0], a[1], b[1])
			}
		}
		if x, y := median(xs), median(ys); len(xs) > 0 && x != y && math.Abs(x-y) > rateTolerance*math.Max(math.Abs(x), math.Abs(y)) {
			return fmt.Sprintf("series %v: median over the steps %v, prometheus %v", sm["metric"], x, y)
		}
	}
	return ""
}

// stepRateTolerance bounds the relative difference of one step's rate or increase over
// the dashboards' [4s] windows of 1 s scrapes: Prometheus' extrapolation may stretch
// such a window's increase by up to 1.1 intervals over the 3 its samples span
// (test/parity's rateTolerance: 1.1/(n-1) with n = 4), by where each side's scrapes
// fell, which a loaded machine moves by hundreds of milliseconds. Their medians over
// the steps must agree within rateTolerance: a wrong factor still fails.
const stepRateTolerance = 1.1 / 3

// median returns the median of xs (sorted in place); 0 when empty.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	if n := len(xs); n%2 == 0 {
		return (xs[n/2-1] + xs[n/2]) / 2
	}
	return xs[len(xs)/2]
}

// stamp is the timestamp of a matrix point.
func stamp(point any) float64 {
	f, _ := point.([]any)[0].(float64)
	return f
}

// unsettled returns the steps of the query_range request params at which Prometheus' or
// serve's $__rate_interval window (4 scrape intervals) held fewer than 4 scrapes of some
// pod: a late scrape. serve is asked from Prometheus' first such step on (before it,
// serve's window may reach before its history: 422).
func unsettled(t *testing.T, base, promURL string, params url.Values) map[float64]bool {
	t.Helper()
	start, _ := strconv.ParseFloat(params.Get("start"), 64)
	end, _ := strconv.ParseFloat(params.Get("end"), 64)
	step, _ := strconv.ParseFloat(params.Get("step"), 64)
	settled := func(u string, from float64) map[float64]bool {
		q := url.Values{"query": {"min(count_over_time(up[4s]))"}, "start": {strconv.FormatFloat(from, 'f', -1, 64)}, "end": params["end"], "step": params["step"]}
		have := map[float64]bool{}
		_, e := get(t, u, "/api/v1/query_range", q)
		d, _ := e.Data.(map[string]any)
		if r, _ := d["result"].([]any); len(r) == 1 {
			for _, p := range r[0].(map[string]any)["values"].([]any) {
				if n, _ := strconv.Atoi(p.([]any)[1].(string)); n >= 4 {
					have[stamp(p)] = true
				}
			}
		}
		return have
	}
	prom := settled(promURL, start)
	first := end + step
	for ts := range prom {
		first = min(first, ts)
	}
	ours := settled(base, first)
	out := map[float64]bool{}
	for ts := start; ts <= end; ts += step {
		if !prom[ts] || !ours[ts] {
			out[ts] = true
		}
	}
	return out
}

// dropSteps removes from a matrix's series the points at the steps in skip.
func dropSteps(data any, skip map[float64]bool) {
	r, _ := data.(map[string]any)["result"].([]any)
	for _, s := range r {
		m := s.(map[string]any)
		vals, _ := m["values"].([]any)
		kept := vals[:0]
		for _, p := range vals {
			if !skip[stamp(p)] {
				kept = append(kept, p)
			}
		}
		m["values"] = kept
	}
}
