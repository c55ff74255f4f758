package pod

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	"github.com/podscrape/podscrape/internal/history"
	"github.com/podscrape/podscrape/podscrapetest"
	"github.com/podscrape/podscrape/source"
)

// t0 is when the fake clocks of these tests start.
var t0 = time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)

// promqlSource returns a source on svc whose clock is the returned fake clock, with the
// PromQL queries registered; cfg, when set, changes its config first. The test closes it.
func promqlSource(t *testing.T, env *podscrapetest.Environment, svc *podscrapetest.Service, cfg func(*PodScrapingSourceConfig), queries ...source.QueryTemplate) (*PodScrapingSource, *clocktesting.FakeClock) {
	t.Helper()
	clk := clocktesting.NewFakeClock(t0)
	c := PodScrapingSourceConfig{ServiceName: svc.Name, ServiceNamespace: svc.Namespace, MetricsPort: svc.Port, Clock: clk}
	if cfg != nil {
		cfg(&c)
	}
	s, err := NewPodScrapingSource(t.Context(), env.Client, c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	for _, q := range queries {
		if q.Type == "" {
			q.Type = source.QueryTypePromQL
		}
		s.QueryList().MustRegister(q)
	}
	return s, clk
}

func newService(t *testing.T, env *podscrapetest.Environment, pods int, body string) *podscrapetest.Service {
	t.Helper()
	svc, err := env.NewService(t.Context(), podscrapetest.ServiceOptions{Name: "vllm", Pods: pods, Body: body})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svc.Close() })
	return svc
}

// TestPromQLAnswers runs on one control plane of the public kit: each subtest has its
// Service of real loopback pods and a source on a fake clock.
func TestPromQLAnswers(t *testing.T) {
	env, err := podscrapetest.Start(podscrapetest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	t.Run("windows fill up over 10 minutes", func(t *testing.T) { testWindowsFillUp(t, env) })
	t.Run("metrics stored from when they are needed", func(t *testing.T) { testMetricsStoredWhenNeeded(t, env) })
	t.Run("placeholders in name positions", func(t *testing.T) { testPlaceholderNames(t, env) })
	t.Run("query registered while the loop runs", func(t *testing.T) { testRegisteredWhileLoopRuns(t, env) })
	t.Run("query of a metric-name query's metric registered while the loop runs", func(t *testing.T) { testRegisteredOfAMetricNameQueryWhileLoopRuns(t, env) })
	t.Run("cancelled refresh keeps the cache", func(t *testing.T) { testCancelledRefreshKeepsCache(t, env) })
	t.Run("failed evaluation keeps the cache", func(t *testing.T) { testFailedEvaluationKeepsCache(t, env) })
	t.Run("history that cannot be created", func(t *testing.T) { testHistoryCannotBeCreated(t, env) })
	t.Run("failed pod is down in PromQL results", func(t *testing.T) { testFailedPodDownInPromQL(t, env) })
	t.Run("scrape series without up tell no pod down", func(t *testing.T) { testScrapeSeriesWithoutUpTellNoPodDown(t, env) })
	t.Run("refused samples fail the queries reading them", func(t *testing.T) { testRefusedSamples(t, env) })
	t.Run("window after an outage", func(t *testing.T) { testWindowAfterAnOutage(t, env) })
	t.Run("one model's pod back after failing", func(t *testing.T) { testOneModelBackAfterFailing(t, env) })
	t.Run("pod joining after the start", func(t *testing.T) { testPodJoiningAfterTheStart(t, env) })
}

// A pod that joins after the history began (a scale-up) has its first scrapes at the
// start of its own series, not of the history: its counter's increase is answered from
// its first sample as Prometheus answers it, with no ErrPartialWindow (the history holds
// the window; what the pod did before its first scrape is in the counter it starts
// from, which Prometheus extrapolates back toward zero). On its first scrape alone it
// has no increase, and the sum leaves it out, as a Prometheus server's does.
func testPodJoiningAfterTheStart(t *testing.T, env *podscrapetest.Environment) {
	svc := newService(t, env, 1, "")
	s, clk := promqlSource(t, env, svc, nil,
		source.QueryTemplate{Name: "count", Template: `sum by (pod) (increase(reqs_total[2m]))`})
	spec := source.RefreshSpec{Queries: []string{"count"}}
	a := svc.Pods()[0]
	var b *podscrapetest.Pod
	for i := 0; i <= 20; i++ { // 5 minutes; b joins at 4m
		a.SetBody(fmt.Sprintf("# TYPE reqs counter\nreqs_total %d\n", 1000+10*i))
		if i == 16 {
			var err error
			if b, err = svc.AddPod(t.Context(), "late"); err != nil {
				t.Fatal(err)
			}
		}
		if b != nil {
			b.SetBody(fmt.Sprintf("# TYPE reqs counter\nreqs_total %d\n", 50+10*(i-16)))
		}
		results, err := s.Refresh(t.Context(), spec)
		if err != nil {
			t.Fatal(err)
		}
		r := results["count"]
		if i >= 8 && r.Error != nil {
			t.Fatalf("refresh %d: got Error %v, want none: the history holds the window", i, r.Error)
		}
		byPod := map[string]float64{}
		for _, v := range r.Values {
			byPod[v.Labels["pod"]] = v.Value
		}
		switch {
		case i == 16 && len(byPod) != 1:
			t.Fatalf("b's first scrape: got %v, want a's increase alone (b's one sample has none)", r.Values)
		case i == 20:
			// b: 50 to 90 over 60 s, extrapolated half a spacing (7.5 s) back, as
			// Prometheus: 40 * 67.5 / 60. a: the whole 2m window's 80.
			if math.Abs(byPod["late"]-45) > 1e-9 || math.Abs(byPod[a.Name]-80) > 1e-9 {
				t.Fatalf("b a minute after joining: got %v, want late 45 and %s 80", r.Values, a.Name)
			}
		}
		clk.Step(15 * time.Second)
	}
}

// increase over 10m is a partial window, with its values and an Error wrapping
// ErrPartialWindow, until 10 minutes less 1.1 scrape spacings are held (Prometheus
// extrapolates over the rest: 9m45s at 15 s); rate over 5m is right over a shorter span:
// a warning until then (4m45s), never an Error. Covered windows carry neither.
func testWindowsFillUp(t *testing.T, env *podscrapetest.Environment) {
	svc := newService(t, env, 1, "")
	s, clk := promqlSource(t, env, svc, nil,
		source.QueryTemplate{Name: "count", Template: `sum(increase(reqs_total[{{.retentionPeriod}}]))`, Params: []string{"retentionPeriod"}},
		source.QueryTemplate{Name: "rate", Template: `sum(rate(reqs_total[5m]))`},
		source.QueryTemplate{Name: "now", Template: `sum(reqs_total)`})
	spec := source.RefreshSpec{Queries: []string{"count", "rate", "now"}, Params: map[string]string{"retentionPeriod": "10m"}}
	const step = 15 * time.Second
	for i := 0; i <= 44; i++ { // 11 minutes
		held := time.Duration(i) * step
		svc.Pods()[0].SetBody(fmt.Sprintf("# TYPE reqs counter\nreqs_total %d\n", 1000+10*i))
		results, err := s.Refresh(t.Context(), spec)
		if err != nil {
			t.Fatalf("%s: %v", held, err)
		}
		count, rate, now := results["count"], results["rate"], results["now"]
		if now.Error != nil || len(now.Warnings) > 0 || len(now.Values) != 1 {
			t.Fatalf("%s: an instant selector: got %v, %v, %q; want one value, no error, no warning", held, now.Values, now.Error, now.Warnings)
		}

		// A window starting before the first scrape by less than 1.1 times the scrapes'
		// spacing is whole, as Prometheus extrapolates over it (history.ReachesBefore):
		// at 9m45s held, increase[10m] answers the full window's 400.
		whole := func(window time.Duration) bool { return (window-held)*10 < step*11 }
		var pw *PartialWindowError
		if !whole(10 * time.Minute) {
			if !errors.Is(count.Error, ErrPartialWindow) || !errors.As(count.Error, &pw) {
				t.Fatalf("%s held: increase over 10m: got Error %v, want ErrPartialWindow", held, count.Error)
			}
			if pw.Query != "count" || pw.Func != "increase" || pw.Window != 10*time.Minute || pw.Held != held {
				t.Fatalf("%s held: got %+v, want count's increase over 10m with %s held", held, *pw, held)
			}
			if i > 0 && len(count.Values) != 1 {
				t.Fatalf("%s held: increase: got values %v, want them kept", held, count.Values)
			}
		} else if count.Error != nil || len(count.Values) != 1 || math.Abs(count.Values[0].Value-400) > 1e-9 {
			t.Fatalf("%s held: increase over 10m: got %v, Error %v; want 400 (10 a scrape), no error", held, count.Values, count.Error)
		}
		if held == 2*time.Minute {
			want := `query "count": increase over 10m0s reaches before the history's oldest scrape (2m0s held): partial window`
			if count.Error.Error() != want {
				t.Fatalf("2m held: got %q, want %q", count.Error, want)
			}
		}

		switch {
		case i == 0 && (len(rate.Values) != 0 || !errors.Is(rate.Error, ErrPartialWindow)):
			// One scrape: nothing to estimate, and an empty answer would read as no load.
			t.Fatalf("%s held: rate over 5m: got %v, Error %v; want no value and ErrPartialWindow", held, rate.Values, rate.Error)
		case i > 0 && rate.Error != nil:
			t.Fatalf("%s held: rate over 5m: got Error %v, want none", held, rate.Error)
		}
		warned := slices.ContainsFunc(rate.Warnings, func(w string) bool {
			return strings.Contains(w, `query "rate": rate over 5m0s reaches before the history's oldest scrape (`+held.String()+` held)`)
		})
		if !whole(5*time.Minute) && !warned {
			t.Fatalf("%s held: rate over 5m: got warnings %q, want the partial window's", held, rate.Warnings)
		}
		if whole(5*time.Minute) && len(rate.Warnings) > 0 {
			t.Fatalf("%s held: rate over 5m: got warnings %q, want none", held, rate.Warnings)
		}
		// The warned rate is the rate over the span held (docs/library.md), not the
		// increase over 1m held divided by the whole 5m, as Prometheus' would be.
		if i == 4 && (len(rate.Values) != 1 || math.Abs(rate.Values[0].Value-10/15.0) > 1e-9) {
			t.Fatalf("1m held: rate: got %v, want the true rate %g", rate.Values, 10/15.0)
		}
		if i > 1 && (len(rate.Values) != 1 || rate.Values[0].Value <= 0) {
			t.Fatalf("%s held: rate: got %v, want a value", held, rate.Values)
		}
		clk.Step(step)
	}
}

// A metric the history begins to store when a query that reads it is registered is
// covered from that refresh on, not from the history's oldest scrape.
func testMetricsStoredWhenNeeded(t *testing.T, env *podscrapetest.Environment) {
	svc := newService(t, env, 1, "a 1\n# TYPE b counter\nb_total 1\n")
	s, clk := promqlSource(t, env, svc, nil, source.QueryTemplate{Name: "a", Template: `sum(a)`})
	for range 8 { // 2 minutes of a alone
		if _, err := s.Refresh(t.Context(), source.RefreshSpec{}); err != nil {
			t.Fatal(err)
		}
		clk.Step(15 * time.Second)
	}
	s.QueryList().MustRegister(source.QueryTemplate{Name: "b", Type: source.QueryTypePromQL, Template: `sum(increase(b_total[1m]))`})
	s.QueryList().MustRegister(source.QueryTemplate{Name: "brate", Type: source.QueryTypePromQL, Template: `sum(rate(b_total[1m])) or vector(0)`})
	for i := 0; i <= 4; i++ {
		results, err := s.Refresh(t.Context(), source.RefreshSpec{Queries: []string{"b", "brate"}})
		if err != nil {
			t.Fatal(err)
		}
		held := time.Duration(i) * 15 * time.Second
		var pw *PartialWindowError
		switch r := results["b"]; {
		// From 45s on, the window reaches 15 s before b's first scrape: less than 1.1
		// spacings, which Prometheus extrapolates over (history.ReachesBefore).
		case held < 45*time.Second && (!errors.As(r.Error, &pw) || pw.Held != held):
			t.Fatalf("b stored for %s: got %v, want a partial window with %s held", held, r.Error, held)
		case held >= 45*time.Second && r.Error != nil:
			t.Fatalf("b stored for %s: got %v, want no error", held, r.Error)
		}
		// The rate's 0 on b's first scrape is vector(0)'s, not b's: not "no load".
		if r := results["brate"]; (i == 0) != errors.Is(r.Error, ErrPartialWindow) {
			t.Fatalf("b stored for %s: rate or vector(0): got %v, Error %v; want ErrPartialWindow on the first scrape alone", held, r.Values, r.Error)
		}
		clk.Step(15 * time.Second)
	}
}

// A placeholder where a metric name could stand: the history stores the metric its
// params name, from the Refresh that names it, and nothing else (the query used to read
// nothing, without error); another value names another metric, answered at once.
func testPlaceholderNames(t *testing.T, env *podscrapetest.Environment) {
	svc := newService(t, env, 1, "queue 3\nother 4\n# TYPE reqs counter\nreqs_total 7\n")
	for _, tc := range []struct {
		template, metric string
		stored           []string // what the history stores after the refresh
	}{
		{`{__name__="{{.metric}}"}`, "queue", []string{"queue"}},
		{`{{.metric}}`, "queue", []string{"queue"}},
		{`{{.metric}}_total`, "reqs", []string{"reqs_total"}},
		{`{"{{.metric}}"}`, "queue", []string{"queue"}},
		{`last_over_time({{.metric}}[1m])`, "queue", []string{"queue"}},
		{`sum by (pod) ({__name__="{{.metric}}", pod!=""})`, "queue", []string{"queue"}},
		{`queue + {{.metric}}`, "other", []string{"other", "queue"}},
	} {
		s, clk := promqlSource(t, env, svc, nil, source.QueryTemplate{Name: "q", Template: tc.template, Params: []string{"metric"}})
		results, err := s.Refresh(t.Context(), source.RefreshSpec{Queries: []string{"q"}, Params: map[string]string{"metric": tc.metric}})
		if err != nil {
			t.Fatal(err)
		}
		if r := results["q"]; r.Error != nil || len(r.Values) != 1 {
			t.Errorf("%s with metric=%s: got %v, %v; want one value", tc.template, tc.metric, r.Values, r.Error)
		}
		if _, needs, _ := s.historyNeeds(); needs.all || !slices.Equal(needs.sorted(), tc.stored) {
			t.Errorf("%s with metric=%s: the history stores %v (all %t), want %v", tc.template, tc.metric, needs.sorted(), needs.all, tc.stored)
		}
		if tc.template != `{{.metric}}` {
			continue
		}
		// Another value: its metric is stored from this refresh on, and answered now.
		clk.Step(15 * time.Second)
		results, err = s.Refresh(t.Context(), source.RefreshSpec{Queries: []string{"q"}, Params: map[string]string{"metric": "other"}})
		if r := results["q"]; err != nil || r.Error != nil || r.FirstValue().Value != 4 {
			t.Errorf("%s with metric=other next: got %v, %v, %v; want 4", tc.template, r.Values, r.Error, err)
		}
		if _, needs, _ := s.historyNeeds(); !slices.Equal(needs.sorted(), []string{"other", "queue"}) {
			t.Errorf("%s after metric=other: the history stores %v, want both", tc.template, needs.sorted())
		}
	}
}

// A PromQL query registered while the scrape loop runs reads metrics the loop's last
// scrape did not store: its first Refresh scrapes now instead of answering nothing.
func testRegisteredWhileLoopRuns(t *testing.T, env *podscrapetest.Environment) {
	svc := newService(t, env, 1, "a 1\nb 2\n")
	s, _ := promqlSource(t, env, svc, func(c *PodScrapingSourceConfig) { c.ScrapeInterval, c.HistoryRetention = time.Hour, 2*time.Hour },
		source.QueryTemplate{Name: "a", Template: `sum(a)`})
	startLoop(t, s)
	pod := svc.Pods()[0]
	before := pod.Requests()
	if r, err := s.Refresh(t.Context(), source.RefreshSpec{Queries: []string{"a"}}); err != nil || r["a"].FirstValue().Value != 1 {
		t.Fatalf("a from the loop's scrape: got %v, %v", r["a"], err)
	}
	if got := pod.Requests(); got != before {
		t.Fatalf("a Refresh the loop's scrape answers: the pod got %d requests, want none", got-before)
	}

	s.QueryList().MustRegister(source.QueryTemplate{Name: "b", Type: source.QueryTypePromQL, Template: `sum(b)`})
	r, err := s.Refresh(t.Context(), source.RefreshSpec{Queries: []string{"b"}})
	if err != nil {
		t.Fatal(err)
	}
	if b := r["b"]; b.Error != nil || len(b.Values) != 1 || b.Values[0].Value != 2 {
		t.Fatalf("b registered after the loop's scrape: got %v, %v; want 2", b.Values, b.Error)
	}
	if got := pod.Requests(); got != before+1 {
		t.Fatalf("b registered after the loop's scrape: the pod got %d requests, want 1", got-before)
	}
}

// The same with a metric the loop's last scrape kept for a metric-name query but did not
// store in the history: the Refresh scrapes now, it does not answer ErrNoHistory from
// that scrape until the next tick.
func testRegisteredOfAMetricNameQueryWhileLoopRuns(t *testing.T, env *podscrapetest.Environment) {
	svc := newService(t, env, 1, "a 1\nb 2\n")
	s, _ := promqlSource(t, env, svc, func(c *PodScrapingSourceConfig) { c.ScrapeInterval, c.HistoryRetention = time.Hour, 2*time.Hour },
		source.QueryTemplate{Name: "a", Template: `sum(a)`}, source.QueryTemplate{Name: "b", Type: source.QueryTypeMetricName, Template: "b"})
	startLoop(t, s)
	pod := svc.Pods()[0]
	before := pod.Requests()
	s.QueryList().MustRegister(source.QueryTemplate{Name: "sum_b", Type: source.QueryTypePromQL, Template: `sum(b)`})
	r, err := s.Refresh(t.Context(), source.RefreshSpec{Queries: []string{"sum_b"}})
	if err != nil {
		t.Fatal(err)
	}
	if b := r["sum_b"]; b.Error != nil || len(b.Values) != 1 || b.Values[0].Value != 2 {
		t.Fatalf("sum(b) registered after the loop's scrape of b: got %v, %v; want 2", b.Values, b.Error)
	}
	if got := pod.Requests(); got != before+1 {
		t.Fatalf("sum(b) registered after the loop's scrape of b: the pod got %d requests, want 1", got-before)
	}
}

// startLoop runs the scrape loop of s until the test ends, and waits until it has
// finished a scrape.
func startLoop(t *testing.T, s *PodScrapingSource) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	deadline := time.Now().Add(30 * time.Second)
	for s.loop.recent(s.config) == nil {
		if time.Now().After(deadline) {
			t.Fatal("the scrape loop did not scrape within 30s")
		}
		time.Sleep(5 * time.Millisecond) // polling the loop's state, with a deadline
	}
}

// With the loop running, a Refresh whose context is cancelled returns the context's
// error and leaves the cached answer as it was.
func testCancelledRefreshKeepsCache(t *testing.T, env *podscrapetest.Environment) {
	svc := newService(t, env, 1, "a 1\n")
	s, clk := promqlSource(t, env, svc, func(c *PodScrapingSourceConfig) { c.ScrapeInterval, c.HistoryRetention = time.Hour, 2*time.Hour },
		source.QueryTemplate{Name: "a", Template: `sum(a)`})
	startLoop(t, s)
	if _, err := s.Refresh(t.Context(), source.RefreshSpec{Queries: []string{"a"}}); err != nil {
		t.Fatal(err)
	}
	good := s.Get("a", nil)
	if good == nil || good.Result.Error != nil {
		t.Fatalf("Get(a): got %+v, want the answer", good)
	}
	clk.Step(time.Second)

	cancelled, cancelNow := context.WithCancel(t.Context())
	cancelNow()
	results, err := s.Refresh(cancelled, source.RefreshSpec{Queries: []string{"a"}})
	if !errors.Is(err, context.Canceled) || results != nil {
		t.Fatalf("Refresh with a cancelled context: got %v, %v; want no results and context.Canceled", results, err)
	}
	if got := s.Get("a", nil); got != good {
		t.Fatalf("Get(a) after a cancelled Refresh: got %+v, want the cached answer", got)
	}
}

// A PromQL evaluation that fails (many-to-many matching once a second series appears)
// does not replace the last good answer: Get serves it until its TTL.
func testFailedEvaluationKeepsCache(t *testing.T, env *podscrapetest.Environment) {
	svc := newService(t, env, 1, "a{x=\"1\"} 1\n")
	s, clk := promqlSource(t, env, svc, nil, source.QueryTemplate{Name: "q", Template: `a + on() a`})
	if r, err := s.Refresh(t.Context(), source.RefreshSpec{}); err != nil || r["q"].Error != nil {
		t.Fatalf("one series: got %v, %v", r["q"], err)
	}
	good := s.Get("q", nil)
	svc.Pods()[0].SetBody("a{x=\"1\"} 1\na{x=\"2\"} 2\n")
	clk.Step(time.Second)
	r, err := s.Refresh(t.Context(), source.RefreshSpec{})
	if err != nil {
		t.Fatal(err)
	}
	if r["q"].Error == nil || len(r["q"].Values) != 0 {
		t.Fatalf("two series on each side of on(): got %v, %v; want an evaluation error", r["q"].Values, r["q"].Error)
	}
	if got := s.Get("q", nil); got == nil || got.Result.CollectedAt != good.Result.CollectedAt || got.Result.Error != nil {
		t.Fatalf("Get(q) after a failed evaluation: got %+v, want the last good answer", got)
	}
}

// A history that cannot be created fails the PromQL results only: metric-name and
// all_metrics results answer as if no PromQL query were registered. The in-memory history
// never fails to be made: its constructor is replaced by one that fails, as a storage
// with a directory did on an unwritable HistoryDir.
func testHistoryCannotBeCreated(t *testing.T, env *podscrapetest.Environment) {
	svc := newService(t, env, 1, "a 1\n")
	s, _ := promqlSource(t, env, svc, nil,
		source.QueryTemplate{Name: "promql", Template: `sum(a)`},
		source.QueryTemplate{Name: "a", Type: source.QueryTypeMetricName, Template: "a"})
	errCreate := errors.New("history: cannot be made")
	s.history.create = func(history.Options) (*history.History, error) { return nil, errCreate }
	for i := range 2 { // the next refresh tries again, and fails alike
		results, err := s.Refresh(t.Context(), source.RefreshSpec{})
		if err != nil {
			t.Fatalf("Refresh %d: got %v, want the history's failure on the PromQL result only", i, err)
		}
		for _, name := range []string{"a", AllMetricsQuery} {
			if r := results[name]; r.Error != nil || len(r.Values) == 0 {
				t.Errorf("%s: got %v, %v; want values and no error", name, r.Values, r.Error)
			}
		}
		if r := results["promql"]; !errors.Is(r.Error, errCreate) || len(r.Values) != 0 {
			t.Errorf("promql: got %v, %v; want the history's error", r.Values, r.Error)
		}
	}
	s.history.create = nil // it can be made now
	results, err := s.Refresh(t.Context(), source.RefreshSpec{})
	if r := results["promql"]; err != nil || r.Error != nil || r.FirstValue().Value != 1 {
		t.Errorf("promql once the history can be made: got %v, %v, %v; want 1", r.Values, r.Error, err)
	}
}

// A pod whose scrape failed is down for PodValues, PodStatuses and ValuesByPod of a
// PromQL result, even though its series' last samples are still within the query's
// window.
func testFailedPodDownInPromQL(t *testing.T, env *podscrapetest.Environment) {
	svc := newService(t, env, 2, "queue 3\n")
	failing, results := secondPodFailing(t, env, svc, source.QueryTemplate{Name: "q", Template: `last_over_time(queue[5m])`})
	r := results["q"]
	if !slices.ContainsFunc(r.Values, func(v source.MetricValue) bool { return v.Labels[source.LabelPod] == failing.Name }) {
		t.Fatalf("the window still holds the failed pod's last sample: got %v; the check proves nothing", r.Values)
	}
	if _, err := r.PodValues(failing.Name, "queue"); !errors.Is(err, source.ErrPodDown) {
		t.Errorf("PodValues of the failed pod: got %v, want ErrPodDown", err)
	}
	if v, err := r.PodValues(svc.Pods()[0].Name, "queue"); err != nil || len(v) != 1 {
		t.Errorf("PodValues of the healthy pod: got %v, %v; want its value", v, err)
	}
	st := r.PodStatuses()
	if i := slices.IndexFunc(st, func(p source.PodStatus) bool { return p.Pod == failing.Name }); i < 0 || st[i].Up {
		t.Errorf("PodStatuses: got %+v, want %s down", st, failing.Name)
	}
	// ValuesByPod says a pod that is down has no entry: the failed pod's last sample,
	// still within the window, is not its present.
	if byPod := r.ValuesByPod("queue"); len(byPod) != 1 || len(byPod[svc.Pods()[0].Name]) != 1 {
		t.Errorf("ValuesByPod: got %v, want the healthy pod's value alone", byPod)
	}
}

// A PromQL query of the synthetic scrape series (a scrape-latency panel's
// scrape_duration_seconds) answers each pod's sample, with no up beside it. PodStatuses
// made each such pod a status, down with ReasonUnknown: every healthy pod read as down.
// A pod is down there only by its up 0 or its scrape error.
func testScrapeSeriesWithoutUpTellNoPodDown(t *testing.T, env *podscrapetest.Environment) {
	svc := newService(t, env, 2, "queue 3\n")
	failing, results := secondPodFailing(t, env, svc,
		source.QueryTemplate{Name: "duration", Template: `scrape_duration_seconds`},
		source.QueryTemplate{Name: "samples", Template: `scrape_samples_scraped`},
		source.QueryTemplate{Name: "health", Template: `{__name__=~"up|scrape_duration_seconds"}`})
	healthy := svc.Pods()[0].Name
	for _, name := range []string{"duration", "samples"} {
		r := results[name]
		if len(r.ValuesByPod(r.FirstValue().Labels[source.LabelName])[healthy]) != 1 {
			t.Fatalf("%s: got %v, want the healthy pod's sample", name, r.Values)
		}
		st := r.PodStatuses()
		if len(st) != 1 || st[0].Pod != failing.Name || st[0].Up || st[0].Reason != ReasonHTTPStatus {
			t.Errorf("%s: PodStatuses got %+v, want %s alone, down with its scrape error (the result holds no up of %s)",
				name, st, failing.Name, healthy)
		}
	}
	st := results["health"].PodStatuses()
	if len(st) != 2 || st[0].Pod != healthy || !st[0].Up || st[0].Duration <= 0 || st[1].Pod != failing.Name || st[1].Up {
		t.Errorf("health: PodStatuses got %+v, want %s up with its scrape's duration, %s down", st, healthy, failing.Name)
	}
}

// A pod exposing a sample 20 minutes ahead of its scrape has it refused; the refusal is
// on the results of the queries that read that metric (or any metric) only.
func testRefusedSamples(t *testing.T, env *podscrapetest.Environment) {
	svc := newService(t, env, 2, "a 1\n")
	ahead := t0.Add(20 * time.Minute).UnixMilli()
	svc.Pods()[1].SetBody(fmt.Sprintf("a 1\nskewed 5 %d\n", ahead))
	s, _ := promqlSource(t, env, svc, nil,
		source.QueryTemplate{Name: "a", Template: `sum(a)`},
		source.QueryTemplate{Name: "skewed", Template: `sum(skewed)`},
		source.QueryTemplate{Name: "any", Template: `count({__name__=~"a|skewed"})`})
	results, err := s.Refresh(t.Context(), source.RefreshSpec{})
	if err != nil {
		t.Fatal(err)
	}
	if r := results["a"]; r.Error != nil || r.FirstValue().Value != 2 {
		t.Errorf("a, beside a refused metric: got %v, %v; want 2 and no error", r.Values, r.Error)
	}
	for _, name := range []string{"skewed", "any"} {
		if r := results[name]; !errors.Is(r.Error, ErrSampleAhead) {
			t.Errorf("%s, reading the refused metric: got %v, want ErrSampleAhead", name, r.Error)
		}
	}
}

// Two models behind one Service, a pod each. Model a's pod fails its scrapes for six
// minutes (model b's answers: the refreshes store scrapes, so there is no gap): when it
// answers again, a rate of model a over 5m has its one new scrape, and
// sum(rate(...{model="a"}[5m])) or vector(0) answers 0. That 0 is not "no load": the
// Error says no series it reads holds two samples in the window, until the next
// refresh. Model b's rate is whole throughout.
func testOneModelBackAfterFailing(t *testing.T, env *podscrapetest.Environment) {
	svc := newService(t, env, 2, "")
	s, clk := promqlSource(t, env, svc, nil,
		source.QueryTemplate{Name: "a", Template: `sum(rate(reqs_total{model="a"}[5m])) or vector(0)`},
		source.QueryTemplate{Name: "b", Template: `sum(rate(reqs_total{model="b"}[5m]))`})
	spec := source.RefreshSpec{Queries: []string{"a", "b"}}
	pa, pb := svc.Pods()[0], svc.Pods()[1]
	failing := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusInternalServerError) })
	const step = 15 * time.Second
	n := 0
	refresh := func(aFails bool) map[string]*source.MetricResult {
		t.Helper()
		n++
		pa.SetBody(fmt.Sprintf("# TYPE reqs counter\nreqs_total{model=\"a\"} %d\n", 10*n))
		if aFails {
			pa.SetHandler(failing)
		}
		pb.SetBody(fmt.Sprintf("# TYPE reqs counter\nreqs_total{model=\"b\"} %d\n", 10*n))
		defer clk.Step(step)
		results, err := s.Refresh(t.Context(), spec)
		if err != nil {
			t.Fatal(err)
		}
		return results
	}
	for range 24 {
		refresh(false)
	}
	for range 24 {
		refresh(true)
	}
	for i := range 3 {
		results := refresh(false)
		a, b := results["a"], results["b"]
		var pw *PartialWindowError
		switch {
		case i == 0 && (!errors.As(a.Error, &pw) || !strings.Contains(pw.Error(), "no two samples")):
			t.Errorf("model a back: rate over 5m or vector(0): got %v, Error %v; want a PartialWindowError: no two samples", a.Values, a.Error)
		case i > 0 && (a.Error != nil || a.FirstValue().Value == 0):
			t.Errorf("%d after model a came back: got %v, Error %v; want its rate", i, a.Values, a.Error)
		case b.Error != nil || len(b.Warnings) > 0 || len(b.Values) != 1:
			t.Errorf("%d after model a came back: model b: got %v, Error %v, warnings %q; want its rate alone", i, b.Values, b.Error, b.Warnings)
		}
	}
}

// secondPodFailing refreshes a PromQL source of queries over svc's pods, then, 15 s
// later, with svc's second pod failing its scrapes (500), and returns that pod and the
// second refresh's results.
func secondPodFailing(t *testing.T, env *podscrapetest.Environment, svc *podscrapetest.Service, queries ...source.QueryTemplate) (*podscrapetest.Pod, map[string]*source.MetricResult) {
	t.Helper()
	s, clk := promqlSource(t, env, svc, nil, queries...)
	if _, err := s.Refresh(t.Context(), source.RefreshSpec{}); err != nil {
		t.Fatal(err)
	}
	failing := svc.Pods()[1]
	failing.SetHandler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusInternalServerError) }))
	clk.Step(15 * time.Second)
	results, err := s.Refresh(t.Context(), source.RefreshSpec{})
	if err != nil {
		t.Fatal(err)
	}
	return failing, results
}
