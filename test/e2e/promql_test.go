package e2e

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/podscrape/podscrape/source"
	"github.com/podscrape/podscrape/source/pod"
)

// counterPod serves a gauge and a counter the test sets, with an exposed namespace label
// (which the history must keep as exported_namespace), and counts its requests.
type counterPod struct {
	mu       sync.Mutex // protects the fields below
	counter  float64
	gauge    float64
	fail     bool
	requests int
}

func (p *counterPod) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.requests++
	if p.fail {
		http.Error(w, "down", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", textFormat)
	fmt.Fprintf(w, "# TYPE reqs_total counter\nreqs_total{namespace=\"app\"} %g\n# TYPE load gauge\nload %g\n", p.counter, p.gauge)
}

func (p *counterPod) set(counter, gauge float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.counter, p.gauge = counter, gauge
}

func (p *counterPod) setFail(fail bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fail = fail
}

func (p *counterPod) seen() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.requests
}

// promqlSource builds a source over the fixture on a fake clock with queries registered.
func promqlSource(t *testing.T, f *svcFixture, clk *clocktesting.FakeClock, mutate func(*pod.PodScrapingSourceConfig), queries ...source.QueryTemplate) *pod.PodScrapingSource {
	t.Helper()
	cfg := f.config()
	cfg.Clock = clk
	if mutate != nil {
		mutate(&cfg)
	}
	s := newSource(t, cfg)
	for _, q := range queries {
		if q.Type == "" {
			q.Type = source.QueryTypePromQL
		}
		s.QueryList().MustRegister(q)
	}
	return s
}

func refreshWith(t *testing.T, s *pod.PodScrapingSource, params map[string]string, queries ...string) map[string]*source.MetricResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rs, err := s.Refresh(ctx, source.RefreshSpec{Queries: queries, Params: params})
	if err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	return rs
}

// valueByPod returns a result's values by their pod label.
func valueByPod(r *source.MetricResult) map[string]float64 {
	out := map[string]float64{}
	for _, v := range r.Values {
		out[v.Labels["pod"]] = v.Value
	}
	return out
}

func TestPromQLSeriesLabelsAsPrometheusStoresThem(t *testing.T) {
	a := &counterPod{}
	a.set(5, 1)
	f := startService(t, podDef{name: "a", handler: a})
	clk := clocktesting.NewFakeClock(time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC))
	s := promqlSource(t, f, clk, nil, source.QueryTemplate{Name: "raw", Template: "reqs_total"})
	rs := refreshWith(t, s, nil)
	raw := rs["raw"]
	if raw.Error != nil || len(raw.Values) != 1 {
		t.Fatalf("raw = %+v, want one series", raw)
	}
	got := raw.Values[0].Labels
	// instance is the pod's <IP>:<port>, as Prometheus' pod discovery sets it.
	instance := net.JoinHostPort(f.servers["a"].IP, strconv.Itoa(int(f.port)))
	want := map[string]string{"__name__": "reqs_total", "namespace": f.ns, "pod": "a", "exported_namespace": "app", "instance": instance}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("labels = %v, want %v", got, want)
	}
	if !raw.Values[0].Timestamp.Equal(clk.Now()) || !raw.CollectedAt.Equal(clk.Now()) {
		t.Errorf("Timestamp %s, CollectedAt %s, want the fake clock's %s", raw.Values[0].Timestamp, raw.CollectedAt, clk.Now())
	}
	// The guide's labels stay on metric-name results: no namespace added there.
	for _, v := range rs[pod.AllMetricsQuery].Values {
		if v.Labels["__name__"] == "reqs_total" && v.Labels["namespace"] != "app" {
			t.Errorf("all_metrics reqs_total labels = %v, want the exposed namespace=app", v.Labels)
		}
	}
}

func TestPromQLStalenessWhenPodsFailOrGo(t *testing.T) {
	a, b := &counterPod{}, &counterPod{}
	a.set(1, 10)
	b.set(1, 20)
	f := startService(t, podDef{name: "a", handler: a}, podDef{name: "b", handler: b})
	clk := clocktesting.NewFakeClock(time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC))
	s := promqlSource(t, f, clk, nil,
		source.QueryTemplate{Name: "load", Template: "load"},
		source.QueryTemplate{Name: "up", Template: "up"},
		source.QueryTemplate{Name: "total", Template: "sum(load)"})
	rs := refreshWith(t, s, nil)
	if got := valueByPod(rs["load"]); got["a"] != 10 || got["b"] != 20 {
		t.Fatalf("load = %v, want a=10 b=20", got)
	}

	// b fails: its series are stale at once (not 5 minutes later), its up is 0, and the
	// sum says it is incomplete.
	b.setFail(true)
	clk.Step(15 * time.Second)
	rs = refreshWith(t, s, nil)
	if got := valueByPod(rs["load"]); len(got) != 1 || got["a"] != 10 {
		t.Errorf("load after b failed = %v, want only a=10", got)
	}
	if got := valueByPod(rs["up"]); got["a"] != 1 || got["b"] != 0 {
		t.Errorf("up after b failed = %v, want a=1 b=0", got)
	}
	var se *pod.ScrapeError
	if !errors.As(rs["total"].Error, &se) || se.Pod != f.ns+"/b" {
		t.Errorf("sum(load) Error = %v, want b's *ScrapeError: a sum missing a pod must say so", rs["total"].Error)
	}
	if got := rs["total"].FirstValue(); len(rs["total"].Values) != 1 || got.Value != 10 {
		t.Errorf("sum(load) = %v, want 10", got)
	}

	// b becomes not Ready: gone from discovery, its series (up included) are stale.
	b.setFail(false)
	var pb corev1.Pod
	if err := cp.Client.Get(context.Background(), keyOf(f.ns, "b"), &pb); err != nil {
		t.Fatal(err)
	}
	if err := cp.SetPodStatus(context.Background(), &pb, pb.Status.PodIP, false); err != nil {
		t.Fatal(err)
	}
	clk.Step(15 * time.Second)
	rs = refreshWith(t, s, nil)
	if got := valueByPod(rs["up"]); len(got) != 1 || got["a"] != 1 {
		t.Errorf("up after b turned unready = %v, want only a=1", got)
	}
	if rs["total"].Error != nil {
		t.Errorf("sum(load) Error = %v, want none: every discovered pod answered", rs["total"].Error)
	}
}

func TestPromQLRangeFunctionsOnFakeClockHistory(t *testing.T) {
	a := &counterPod{}
	f := startService(t, podDef{name: "a", handler: a})
	clk := clocktesting.NewFakeClock(time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC))
	s := promqlSource(t, f, clk, nil,
		source.QueryTemplate{Name: "rate", Template: "rate(reqs_total[1m])"},
		source.QueryTemplate{Name: "max", Template: "max_over_time(load[1m])"},
		source.QueryTemplate{Name: "scalar", Template: "scalar(sum(load))"})
	var rs map[string]*source.MetricResult
	for i := 0; i <= 4; i++ {
		if i > 0 {
			clk.Step(15 * time.Second)
		}
		gauge := float64(i)
		if i == 2 {
			gauge = math.Inf(1)
		}
		if i == 4 {
			gauge = math.NaN()
		}
		a.set(float64(15*i), gauge)
		rs = refreshWith(t, s, nil)
	}
	// 15 per 15 s: with Prometheus' extrapolation over a window the samples cover, 1/s.
	if got := rs["rate"].FirstValue(); len(rs["rate"].Values) != 1 || math.Abs(got.Value-1) > 1e-9 {
		t.Errorf("rate(reqs_total[1m]) = %v, want 1", got)
	}
	if got := rs["max"].FirstValue(); len(rs["max"].Values) != 1 || !math.IsInf(got.Value, 1) {
		t.Errorf("max_over_time(load[1m]) = %v, want +Inf kept as a value", got)
	}
	sc := rs["scalar"]
	if len(sc.Values) != 1 || len(sc.Values[0].Labels) != 0 || !math.IsNaN(sc.Values[0].Value) {
		t.Errorf("scalar(sum(load)) = %+v, want one unlabelled NaN", sc.Values)
	}
}

func TestPromQLTemplatesParamsAndErrorsPerQuery(t *testing.T) {
	a := &counterPod{}
	a.set(3, 7)
	f := startService(t, podDef{name: "a", handler: a})
	clk := clocktesting.NewFakeClock(time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC))
	s := promqlSource(t, f, clk, nil,
		source.QueryTemplate{Name: "by_ns", Template: `sum(load{namespace="{{.namespace}}"})`, Params: []string{source.ParamNamespace}},
		source.QueryTemplate{Name: "needs_model", Template: `load{model="{{.modelID}}"}`, Params: []string{source.ParamModelID}},
		source.QueryTemplate{Name: "broken", Template: `sum(load`},
		source.QueryTemplate{Name: "empty", Template: `load{pod="nobody"}`})
	params := map[string]string{source.ParamNamespace: f.ns}
	rs := refreshWith(t, s, params)
	if got := rs["by_ns"].FirstValue(); rs["by_ns"].Error != nil || len(rs["by_ns"].Values) != 1 || got.Value != 7 {
		t.Errorf("by_ns = %v (error %v), want 7", got, rs["by_ns"].Error)
	}
	if err := rs["needs_model"].Error; err == nil || !strings.Contains(err.Error(), `"needs_model"`) || !strings.Contains(err.Error(), `"modelID"`) {
		t.Errorf("needs_model Error = %v, want one naming the query and the missing param", err)
	}
	if err := rs["broken"].Error; err == nil || !strings.Contains(err.Error(), `"broken"`) {
		t.Errorf("broken Error = %v, want a parse error naming the query", err)
	}
	if r := rs["empty"]; r.Error != nil || len(r.Values) != 0 {
		t.Errorf("empty = %+v, want no values and no error", r)
	}

	// Results are cached per params.
	if c := s.Get("by_ns", params); c == nil || c.Result.FirstValue().Value != 7 {
		t.Errorf("Get(by_ns, %v) = %v, want the cached 7", params, c)
	}
	other := map[string]string{source.ParamNamespace: "elsewhere"}
	if c := s.Get("by_ns", other); c != nil {
		t.Errorf("Get(by_ns, %v) = %+v before any refresh with those params, want nil", other, c)
	}
	clk.Step(time.Second)
	rs = refreshWith(t, s, other, "by_ns")
	if len(rs["by_ns"].Values) != 0 {
		t.Errorf("by_ns for another namespace = %v, want empty", rs["by_ns"].Values)
	}
	if c := s.Get("by_ns", params); c == nil || c.Result.FirstValue().Value != 7 {
		t.Errorf("Get(by_ns, %v) after a refresh with other params = %v, want still 7", params, c)
	}
	// A hostile param cannot change the query.
	rs = refreshWith(t, s, map[string]string{source.ParamNamespace: `x"}) or vector(1) or sum(load{a="`}, "by_ns")
	if r := rs["by_ns"]; r.Error != nil || len(r.Values) != 0 {
		t.Errorf("by_ns with a hostile namespace = %+v, want no values and no error", r)
	}
}

func TestPromQLSeriesLimit(t *testing.T) {
	a := &counterPod{}
	f := startService(t, podDef{name: "a", handler: a})
	clk := clocktesting.NewFakeClock(time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC))
	s := promqlSource(t, f, clk, func(c *pod.PodScrapingSourceConfig) { c.HistorySeriesLimit = 1 },
		source.QueryTemplate{Name: "all", Template: `{__name__=~"load|reqs_total"}`})
	rs := refreshWith(t, s, nil)
	if r := rs["all"]; !errors.Is(r.Error, pod.ErrHistorySeriesLimit) || len(r.Values) != 1 {
		t.Errorf("all = %d values, Error %v; want 1 value and ErrHistorySeriesLimit", len(r.Values), r.Error)
	}
}

func TestPromQLSharesOneScrapeWithMetricQueries(t *testing.T) {
	a := &counterPod{}
	f := startService(t, podDef{name: "a", handler: a})
	clk := clocktesting.NewFakeClock(time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC))
	s := promqlSource(t, f, clk, nil,
		source.QueryTemplate{Name: "load_peak", Template: "max_over_time(load[1m])"},
		source.QueryTemplate{Name: "reqs", Type: source.QueryTypeMetricName, Template: "reqs_total"})
	refreshWith(t, s, nil)
	if n := a.seen(); n != 1 {
		t.Errorf("pod requests for all_metrics, a metric query and a PromQL query = %d, want 1", n)
	}
	// A metric-name refresh alone still feeds the history: the PromQL query's metric is
	// kept from the scrape even though no query asked for it. The load is 42 only during
	// that scrape, so the peak of the window shows it only if the history stored it.
	a.set(0, 42)
	clk.Step(15 * time.Second)
	refreshWith(t, s, nil, "reqs")
	a.set(0, 0)
	clk.Step(time.Second)
	rs := refreshWith(t, s, nil, "load_peak")
	if got := rs["load_peak"].FirstValue(); len(rs["load_peak"].Values) != 1 || got.Value != 42 {
		t.Errorf("max_over_time(load[1m]) = %v, want 42 from the scrape that only asked for reqs_total", got)
	}
}

func TestPromQLScrapeLoop(t *testing.T) {
	a := &counterPod{}
	f := startService(t, podDef{name: "a", handler: a})
	clk := clocktesting.NewFakeClock(time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC))
	s := promqlSource(t, f, clk, func(c *pod.PodScrapingSourceConfig) { c.ScrapeInterval = 15 * time.Second },
		source.QueryTemplate{Name: "rate", Template: "rate(reqs_total[1m])"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Start(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Start returned %v, want nil when its context ends", err)
		}
	}()
	// waitStored polls until the loop's scrape at the fake clock's now is stored: a
	// PromQL-only Refresh answers from the loop's latest scrape (without scraping while
	// the previous one is recent), so its CollectedAt tells.
	waitStored := func() {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			rs, err := s.Refresh(context.Background(), source.RefreshSpec{Queries: []string{"rate"}})
			if err == nil && rs["rate"].CollectedAt.Equal(clk.Now()) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("the scrape loop did not store a scrape at %s", clk.Now())
			}
			time.Sleep(time.Millisecond) // polling the loop's progress, not waiting for time to pass
		}
	}
	for i := 0; i <= 4; i++ {
		a.set(float64(15*i), 0)
		if i > 0 {
			clk.Step(15 * time.Second) // the loop's ticker runs on the fake clock
		}
		waitStored()
	}
	before := a.seen()
	rs := refreshWith(t, s, nil, "rate")
	if a.seen() != before {
		t.Errorf("a PromQL-only Refresh with the loop running scraped the pod (%d requests, want %d)", a.seen(), before)
	}
	if got := rs["rate"].FirstValue(); len(rs["rate"].Values) != 1 || math.Abs(got.Value-1) > 1e-9 {
		t.Errorf("rate over the loop's history = %v, want 1", got)
	}
	if s.NeedLeaderElection() {
		t.Error("NeedLeaderElection = true, want false: every replica keeps its own history")
	}
	if err := s.Start(ctx); !errors.Is(err, pod.ErrAlreadyStarted) {
		t.Errorf("a second Start = %v, want ErrAlreadyStarted", err)
	}
}

// TestPromQLHistoryDir: the history writes nothing, HistoryDir or not, so a pod with a
// read-only root filesystem needs no volume for it.
func TestPromQLHistoryDir(t *testing.T) {
	a := &counterPod{}
	f := startService(t, podDef{name: "a", handler: a})
	dir := t.TempDir()
	clk := clocktesting.NewFakeClock(time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC))
	s := promqlSource(t, f, clk, func(c *pod.PodScrapingSourceConfig) { c.HistoryDir = dir },
		source.QueryTemplate{Name: "load", Template: "load"})
	rs := refreshWith(t, s, nil)
	if r := rs["load"]; r == nil || len(r.Values) != 1 {
		t.Fatalf("load = %+v, want one value from the in-memory history", r)
	}
	if entries, err := os.ReadDir(dir); err != nil || len(entries) != 0 {
		t.Errorf("HistoryDir holds %v (%v), want nothing: the history is in memory", entries, err)
	}
	s.Close()
}
