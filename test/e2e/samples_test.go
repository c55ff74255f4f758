package e2e

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"
)

// sampleLines counts the sample lines of an exposition: what is neither comment nor blank.
func sampleLines(body []byte) int {
	n := 0
	for _, line := range strings.Split(string(body), "\n") {
		if line != "" && !strings.HasPrefix(line, "#") {
			n++
		}
	}
	return n
}

func TestSamplesOnePerExpositionLineWithPodAndName(t *testing.T) {
	t.Parallel()
	epp := fixture(t, "epp-metrics.txt")
	f := startService(t, podDef{name: "epp-a", handler: serve(epp)}, podDef{name: "epp-b", handler: serve(epp)})
	r := mustRefresh(t, newSource(t, f.config()))

	perPod := sampleLines(epp)
	if got, want := len(r.Values), 2*(perPod+3); got != want {
		t.Fatalf("values: got %d, want %d (2 pods x (%d exposed + 3 synthetic))", got, want, perPod)
	}
	for _, v := range r.Values {
		if v.Labels["__name__"] == "" || (v.Labels["pod"] != "epp-a" && v.Labels["pod"] != "epp-b") {
			t.Fatalf("labels %v: want __name__ and pod epp-a or epp-b", v.Labels)
		}
	}
	q := samples(r, "inference_pool_average_queue_size")
	for _, p := range []string{"epp-a", "epp-b"} {
		if len(q[p]) != 1 || q[p][0].Labels["name"] != "vllm-pool" {
			t.Fatalf("inference_pool_average_queue_size of %s: got %v, want one with name=vllm-pool", p, q[p])
		}
	}
}

func TestSamplesHistogramsAndSummariesExpanded(t *testing.T) {
	t.Parallel()
	vllm := fixture(t, "vllm-sim-metrics.txt")
	prom := fixture(t, "prometheus-server-metrics.prom.txt")
	f := startService(t, podDef{name: "vllm", handler: serve(vllm)}, podDef{name: "prom", handler: serve(prom)})
	r := mustRefresh(t, newSource(t, f.config()))

	buckets := samples(r, "vllm:e2e_request_latency_seconds_bucket")["vllm"]
	if len(buckets) < 2 {
		t.Fatalf("vllm:e2e_request_latency_seconds_bucket: got %d samples, want one per bucket", len(buckets))
	}
	les := map[string]float64{}
	for _, b := range buckets {
		les[b.Labels["le"]] = b.Value
	}
	if les["0.5"] != 3 || les["+Inf"] == 0 {
		t.Fatalf("buckets by le: got %v, want le=0.5 -> 3 and a +Inf bucket", les)
	}
	for _, name := range []string{"vllm:e2e_request_latency_seconds_sum", "vllm:e2e_request_latency_seconds_count"} {
		if len(samples(r, name)["vllm"]) != 1 {
			t.Fatalf("%s: got %v, want 1 sample", name, samples(r, name)["vllm"])
		}
	}
	quantiles := map[string]float64{}
	for _, v := range samples(r, "go_gc_duration_seconds")["prom"] {
		quantiles[v.Labels["quantile"]] = v.Value
	}
	if quantiles["0.5"] != 0.000135819 || len(quantiles) != 5 {
		t.Fatalf("go_gc_duration_seconds quantiles: got %v, want 5 with 0.5 -> 0.000135819", quantiles)
	}
	if got := samples(r, "go_gc_duration_seconds_count")["prom"]; len(got) != 1 || got[0].Value != 190932 {
		t.Fatalf("go_gc_duration_seconds_count: got %v, want 190932", got)
	}
}

func TestSamplesScrapedPodLabelKeptAsExported(t *testing.T) {
	t.Parallel()
	body := []byte("m{pod=\"inner\"} 1\nn{pod=\"x\",exported_pod=\"y\"} 2\n")
	f := startService(t, podDef{name: "outer", handler: serve(body)})
	r := mustRefresh(t, newSource(t, f.config()))
	m := samples(r, "m")["outer"]
	if len(m) != 1 || m[0].Labels["pod"] != "outer" || m[0].Labels["exported_pod"] != "inner" {
		t.Fatalf("m: got %v, want pod=outer exported_pod=inner", m)
	}
	n := samples(r, "n")["outer"]
	if len(n) != 1 || n[0].Labels["exported_pod"] != "y" || n[0].Labels["exported_exported_pod"] != "x" {
		t.Fatalf("n: got %v, want exported_pod=y exported_exported_pod=x", n)
	}
}

func TestSamplesTimestampFromExpositionElseScrapeTime(t *testing.T) {
	t.Parallel()
	body := []byte("with_ts 1 1700000000123\nwithout_ts 2\n")
	f := startService(t, podDef{name: "p", handler: serve(body)})
	before := time.Now()
	r := mustRefresh(t, newSource(t, f.config()))
	after := time.Now()

	if got := samples(r, "with_ts")["p"][0].Timestamp; !got.Equal(time.UnixMilli(1700000000123)) {
		t.Fatalf("with_ts timestamp: got %v, want %v", got, time.UnixMilli(1700000000123))
	}
	got := samples(r, "without_ts")["p"][0].Timestamp
	if got.Before(before) || got.After(after) {
		t.Fatalf("without_ts timestamp: got %v, want the scrape time in [%v, %v]", got, before, after)
	}
}

func TestSamplesSyntheticUpDurationAndCount(t *testing.T) {
	t.Parallel()
	vllm := fixture(t, "vllm-sim-metrics.txt")
	f := startService(t, podDef{name: "p", handler: serve(vllm)})
	r := mustRefresh(t, newSource(t, f.config()))
	for name, check := range map[string]func(float64) bool{
		"up":                      func(v float64) bool { return v == 1 },
		"scrape_duration_seconds": func(v float64) bool { return v > 0 && v < 30 },
		"scrape_samples_scraped":  func(v float64) bool { return v == float64(sampleLines(vllm)) },
	} {
		got := samples(r, name)["p"]
		if len(got) != 1 || !check(got[0].Value) || len(got[0].Labels) != 2 {
			t.Fatalf("%s: got %v, want one sample labelled __name__ and pod with a fitting value", name, got)
		}
	}
}

func TestSamplesOpenMetricsNegotiated(t *testing.T) {
	t.Parallel()
	om := fixture(t, "openmetrics-example.txt")
	rec := &recorder{body: om, contentType: "application/openmetrics-text; version=1.0.0; charset=utf-8"}
	f := startService(t, podDef{name: "om", handler: rec})
	r := mustRefresh(t, newSource(t, f.config()))
	if r.Error != nil {
		t.Fatal(r.Error)
	}
	header := rec.seen()[0].Header
	if accept := header.Get("Accept"); !strings.HasPrefix(accept, "application/openmetrics-text") {
		t.Fatalf("Accept: got %q, want OpenMetrics first", accept)
	}
	if got := header.Get("X-Prometheus-Scrape-Timeout-Seconds"); got != "5" {
		t.Fatalf("X-Prometheus-Scrape-Timeout-Seconds: got %q, want the default ScrapeTimeout, 5", got)
	}
	if got := header.Get("User-Agent"); got != "podscrape" {
		t.Fatalf("User-Agent: got %q, want podscrape", got)
	}
	if got, want := len(r.Values), sampleLines(om)+3; got != want {
		t.Fatalf("values: got %d, want %d", got, want)
	}
	created := samples(r, "promhttp_metric_handler_errors_created")["om"]
	if len(created) != 2 {
		t.Fatalf("_created series: got %v, want 2 samples", created)
	}
}

func TestSamplesGzipRequestedAndDecoded(t *testing.T) {
	t.Parallel()
	vllm := fixture(t, "vllm-sim-metrics.txt")
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	_, _ = zw.Write(vllm)
	_ = zw.Close()
	f := startService(t, podDef{name: "gz", handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Accept-Encoding") != "gzip" {
			http.Error(w, "gzip expected", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", textFormat)
		w.Header().Set("Content-Encoding", "gzip")
		_, _ = w.Write(zipped.Bytes())
	})})
	r := mustRefresh(t, newSource(t, f.config()))
	if r.Error != nil {
		t.Fatal(r.Error)
	}
	if got := samples(r, "scrape_samples_scraped")["gz"][0].Value; got != float64(sampleLines(vllm)) {
		t.Fatalf("scrape_samples_scraped: got %v, want %d", got, sampleLines(vllm))
	}
}

func TestSamplesSpecialValues(t *testing.T) {
	t.Parallel()
	f := startService(t, podDef{name: "p", handler: serve([]byte("a NaN\nb +Inf\nc -Inf\n"))})
	r := mustRefresh(t, newSource(t, f.config()))
	if v := samples(r, "a")["p"][0].Value; !math.IsNaN(v) {
		t.Fatalf("a: got %v, want NaN", v)
	}
	if v := samples(r, "b")["p"][0].Value; !math.IsInf(v, 1) {
		t.Fatalf("b: got %v, want +Inf", v)
	}
	if v := samples(r, "c")["p"][0].Value; !math.IsInf(v, -1) {
		t.Fatalf("c: got %v, want -Inf", v)
	}
}

// The guide's "Label Structure" and "Example Result", exactly: each value's labels are
// __name__, pod and the labels the pod exposed, as exposed (a namespace, instance or job
// label too: the guide's results add no target label but pod), every value of a pod's
// scrape carries that scrape's time, and the values come pod by pod in name order (not
// the order the pods were created or answered in), each pod's in exposition order, then
// its up, scrape_duration_seconds and scrape_samples_scraped.
func TestSamplesAsTheGuidesExampleResult(t *testing.T) {
	t.Parallel()
	body := []byte(`# TYPE inference_pool_average_queue_size gauge
inference_pool_average_queue_size{name="my-inference-pool"} 5
# TYPE inference_pool_average_kv_cache_utilization gauge
inference_pool_average_kv_cache_utilization{name="my-inference-pool"} 0.85
# TYPE inference_objective_running_requests gauge
inference_objective_running_requests{model_name="llama-3-8b"} 10
exposed_targets{namespace="theirs",instance="10.0.0.1:80",job="app"} 1
`)
	f := startService(t, podDef{name: "epp-pod-b", handler: serve(body)}, podDef{name: "epp-pod-a", handler: serve(body)})
	clk := clocktesting.NewFakePassiveClock(time.Date(2025, 1, 15, 10, 30, 0, 0, time.UTC))
	cfg := f.config()
	cfg.Clock = clk
	r := mustRefresh(t, newSource(t, cfg))
	if r.Error != nil {
		t.Fatal(r.Error)
	}
	var got []string
	for _, v := range r.Values {
		if !v.Timestamp.Equal(clk.Now()) {
			t.Errorf("%v: Timestamp %v, want the scrape's time %v", v.Labels, v.Timestamp, clk.Now())
		}
		value := fmt.Sprint(v.Value)
		if v.Labels["__name__"] == "scrape_duration_seconds" {
			value = "d"
		}
		got = append(got, fmt.Sprintf("%v %s", v.Labels, value))
	}
	var want []string
	for _, p := range []string{"epp-pod-a", "epp-pod-b"} {
		want = append(want,
			"map[__name__:inference_pool_average_queue_size name:my-inference-pool pod:"+p+"] 5",
			"map[__name__:inference_pool_average_kv_cache_utilization name:my-inference-pool pod:"+p+"] 0.85",
			"map[__name__:inference_objective_running_requests model_name:llama-3-8b pod:"+p+"] 10",
			"map[__name__:exposed_targets instance:10.0.0.1:80 job:app namespace:theirs pod:"+p+"] 1",
			"map[__name__:up pod:"+p+"] 1",
			"map[__name__:scrape_duration_seconds pod:"+p+"] d",
			"map[__name__:scrape_samples_scraped pod:"+p+"] 4",
		)
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("all_metrics:\ngot\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
