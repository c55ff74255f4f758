package serve_test

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/podscrape/podscrape/podscrapetest"
	"github.com/podscrape/podscrape/serve"
)

// TestRateOverTheSpanHeld: a minute after serve started, an instant rate over 5 minutes
// (KEDA's, the adapter's) is the counter's rate over the minute held, with the partial
// window's warning: over the whole window the engine would divide a minute's increase by
// 5 minutes, a fifth of the load, which KEDA (dropping warnings) would scale down on. A
// range query's steps are not moved (docs/serve.md).
func TestRateOverTheSpanHeld(t *testing.T) {
	svc := newService(t, "vllm", 1, "")
	p := svc.Pods()[0]
	srv, base := runReadyServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)},
		MaxAge: time.Nanosecond, Interval: time.Hour})
	now := time.Now()
	began := now.Add(-time.Minute)
	body := func(at time.Time) string { // 2 requests a second
		return fmt.Sprintf("# TYPE reqs_total counter\nreqs_total %.3f\n", 1000+2*at.Sub(began).Seconds())
	}
	scrapedInThePast(t, srv, 0, p, began, now, 15*time.Second, body)
	for _, expr := range []string{"sum(rate(reqs_total[5m]))", "rate(reqs_total[5m] offset 1s)"} {
		code, r := query(t, base, expr)
		v := vector(t, r)
		if code != http.StatusOK || len(v) != 1 || len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "shorter span") {
			t.Fatalf("%s a minute after the start: got %d %q %s warnings %q, want 200, one value, the window's warning", expr, code, r.Error, r.Data, r.Warnings)
		}
		// The pod's scrape times are the test's, moved (ScrapeAt), so the rate is 2 to
		// within their jitter, far from the 0.45 a division by 5 minutes gives.
		got, err := strconv.ParseFloat(fmt.Sprint(v[0].Value[1]), 64)
		if err != nil || math.Abs(got-2) > 0.1 {
			t.Errorf("%s a minute after the start: %g, want the rate over the span held, 2", expr, got)
		}
	}
}

// TestRateOverTheSpanHeldOfEachService: a rate whose selector reads two Services, one
// scraped for ten minutes and one started a minute ago, is each one's rate over the span
// held: narrowed to the older Service's first sample, the window would stay 5 minutes
// long, and the younger one's rate would divide its minute's increase by 5 minutes. With
// two scrapes of the younger one held, the older one's scrapes a little earlier in each
// round, the older one keeps its rate: narrowed to the younger one's first sample, it
// would hold one sample, and answer none.
func TestRateOverTheSpanHeldOfEachService(t *testing.T) {
	for _, tc := range []struct {
		name  string
		young time.Duration // how long the younger Service has been scraped
		every time.Duration // the younger one's scrape spacing; 15 s when zero
		want  float64       // the younger one's rate; 2 when zero
	}{
		{name: "a minute", young: time.Minute},
		{name: "two scrapes", young: 15 * time.Second},
		// Scraped every 2 s (queries reading it alone, under MaxAge) for 6 s: the
		// window starts a spacing of the older one's scrapes before, and the younger
		// one's rate, extrapolated over a second of those 15 s, reads low by them, with
		// its warning. Narrowed by its own 2 s spacing, the older one's series would
		// keep one sample (its scrape 15 s ago before the window), and answer nothing.
		{name: "scraped more often", young: 6 * time.Second, every: 2 * time.Second, want: 2 * 7.0 / 21},
	} {
		if tc.every == 0 {
			tc.every = 15 * time.Second
		}
		if tc.want == 0 {
			tc.want = 2
		}
		t.Run(tc.name, func(t *testing.T) {
			old, young := newService(t, "old", 1, ""), newService(t, "young", 1, "")
			srv, base := runReadyServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(old), serviceConfig(young)},
				MaxAge: time.Nanosecond, Interval: time.Hour})
			now := time.Now()
			began := now.Add(-10 * time.Minute)
			body := func(at time.Time) string { // 2 requests a second
				return fmt.Sprintf("# TYPE reqs_total counter\nreqs_total %.3f\n", 1000+2*at.Sub(began).Seconds())
			}
			for i, from := range []time.Time{began.Add(-200 * time.Millisecond), now.Add(-tc.young)} {
				p := []*podscrapetest.Service{old, young}[i].Pods()[0]
				every := []time.Duration{15 * time.Second, tc.every}[i]
				scrapedInThePast(t, srv, i, p, from, now.Add(-time.Second), every, body)
			}
			code, r := query(t, base, "sum by (job) (rate(reqs_total[5m]))")
			v := vector(t, r)
			if code != http.StatusOK || len(v) != 2 || len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "young") {
				t.Fatalf("got %d %q %s warnings %q, want 200, a value per Service, the young one's warning", code, r.Error, r.Data, r.Warnings)
			}
			for _, s := range v {
				want := map[string]float64{"old": 2, "young": tc.want}[s.Metric["job"]]
				got, err := strconv.ParseFloat(fmt.Sprint(s.Value[1]), 64)
				if err != nil || math.Abs(got-want) > 0.1 {
					t.Errorf("rate of service %s: %v, want %.3f", s.Metric["job"], s.Value[1], want)
				}
			}
		})
	}
}

// TestAnchoredRateAfterAnOutageIsNotNarrowed: an anchored rate reads the window's start
// from the last sample at or before it, a lookback delta back at most. After an outage
// of the Service (no scrape for 3 minutes, the last a minute ago), rate(x[3m] anchored)
// anchors on the sample before the outage: narrowed to the minute after it, it would
// divide the 4 minutes' increase since that sample by one minute, 4 times the load. It
// keeps its window (Prometheus' answer, the increase since the anchor over 3 minutes),
// while the plain rate is narrowed to the minute held. The lookback is the request's
// lookback_delta: looking back a minute, the anchored rate has no sample before its
// window, and narrowed is the rate over the minute held.
func TestAnchoredRateAfterAnOutageIsNotNarrowed(t *testing.T) {
	svc := newService(t, "vllm", 1, "")
	p := svc.Pods()[0]
	srv, base := runReadyServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)},
		MaxAge: time.Nanosecond, Interval: time.Hour})
	now := time.Now()
	began := now.Add(-10 * time.Minute)
	body := func(at time.Time) string { // 2 requests a second
		return fmt.Sprintf("# TYPE reqs_total counter\nreqs_total %.3f\n", 1000+2*at.Sub(began).Seconds())
	}
	anchor := now.Add(-4 * time.Minute) // the last scrape before the outage
	for at := began; at.Before(now); at = at.Add(15 * time.Second) {
		if at.After(anchor) && at.Before(now.Add(-time.Minute)) {
			continue // the outage: no scrape stored
		}
		p.SetBody(body(at))
		if err := serve.ScrapeAt(t.Context(), srv, 0, at); err != nil {
			t.Fatal(err)
		}
	}
	p.SetBody(body(time.Now()))
	for _, tc := range []struct {
		expr, lookback string
		want           float64
	}{
		{"rate(reqs_total[3m])", "", 2},
		{"rate(reqs_total[3m] anchored)", "", 2 * 4.0 / 3},
		// Looking back a minute, it finds no sample before its window: narrowed, the
		// rate over the minute held, not a third of it.
		{"rate(reqs_total[3m] anchored)", "1m", 2},
	} {
		params := url.Values{"query": {tc.expr}}
		if tc.lookback != "" {
			params.Set("lookback_delta", tc.lookback)
		}
		code, r := call(t, http.MethodGet, base, "/api/v1/query", params)
		v := vector(t, r)
		if code != http.StatusOK || len(v) != 1 || len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "gap") {
			t.Fatalf("%s (lookback %q) after the outage: got %d %q %s warnings %q, want 200, one value, the gap's warning", tc.expr, tc.lookback, code, r.Error, r.Data, r.Warnings)
		}
		if got, err := strconv.ParseFloat(fmt.Sprint(v[0].Value[1]), 64); err != nil || math.Abs(got-tc.want) > 0.1 {
			t.Errorf("%s (lookback %q) after the outage: %v, want %.3f", tc.expr, tc.lookback, v[0].Value[1], tc.want)
		}
	}
}

// TestRateBesideAServiceOfOneScrape: under AllowPartialWindows, a rate over two Services,
// one scraped for ten minutes and one holding one scrape (no rate from it yet), is the
// older one's rate: the window is not narrowed to the younger one's single sample, which
// would leave the older one's series one sample, and the answer empty ("no load").
func TestRateBesideAServiceOfOneScrape(t *testing.T) {
	old, young := newService(t, "old", 1, ""), newService(t, "young", 1, "")
	began := time.Now().Add(-10 * time.Minute)
	body := func(at time.Time) string { // 2 requests a second
		return fmt.Sprintf("# TYPE reqs_total counter\nreqs_total %.3f\n", 1000+2*at.Sub(began).Seconds())
	}
	young.Pods()[0].SetBody(body(time.Now()))
	// Without MaxAge: the younger one holds the scrape that made the server ready.
	srv, base := runReadyServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(old), serviceConfig(young)},
		Interval: 4 * time.Minute, AllowPartialWindows: true})
	now := time.Now()
	p := old.Pods()[0]
	for at := began; at.Before(now); at = at.Add(15 * time.Second) {
		p.SetBody(body(at))
		if err := serve.ScrapeAt(t.Context(), srv, 0, at); err != nil {
			t.Fatal(err)
		}
	}
	code, r := query(t, base, "sum by (job) (rate(reqs_total[5m]))")
	v := vector(t, r)
	if code != http.StatusOK || len(v) != 1 || v[0].Metric["job"] != "old" || len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "young") {
		t.Fatalf("got %d %q %s warnings %q, want 200, the old Service's rate, the young one's warning", code, r.Error, r.Data, r.Warnings)
	}
	if got, err := strconv.ParseFloat(fmt.Sprint(v[0].Value[1]), 64); err != nil || math.Abs(got-2) > 0.1 {
		t.Errorf("rate of the old Service: %v, want 2", v[0].Value[1])
	}
}

// TestRangeQueryRateIsNotNarrowed: a range query whose steps' rates reach before the
// history (a dashboard's panel a minute after serve started) is answered its matrix, one
// point per step, each step's rate over its whole window as Prometheus computes it, with
// the partial window's warning (docs/serve.md: a range query's steps are not moved).
// Narrowed as an instant query's rate is, it was evaluated once, at its start, and
// answered a vector.
func TestRangeQueryRateIsNotNarrowed(t *testing.T) {
	svc := newService(t, "vllm", 1, "")
	p := svc.Pods()[0]
	srv, base := runReadyServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)},
		MaxAge: time.Nanosecond, Interval: time.Hour})
	began := time.Now().Add(-time.Minute).Truncate(time.Second)
	for i := range 4 { // 2 requests a second, scraped every 15 s
		at := began.Add(time.Duration(i) * 15 * time.Second)
		p.SetBody(fmt.Sprintf("# TYPE reqs_total counter\nreqs_total %d\n", 1000+30*i))
		if err := serve.ScrapeAt(t.Context(), srv, 0, at); err != nil {
			t.Fatal(err)
		}
	}
	code, r := call(t, http.MethodGet, base, "/api/v1/query_range", url.Values{"query": {"rate(reqs_total[5m])"},
		"start": {formatTime(began.Add(30 * time.Second))}, "end": {formatTime(began.Add(45 * time.Second))}, "step": {"15"}})
	var d struct {
		ResultType string `json:"resultType"`
		Result     []struct {
			Values [][2]any `json:"values"`
		} `json:"result"`
	}
	if err := json.Unmarshal(r.Data, &d); err != nil {
		t.Fatalf("data %s: %v", r.Data, err)
	}
	if code != http.StatusOK || d.ResultType != "matrix" || len(d.Result) != 1 || len(d.Result[0].Values) != 2 || len(r.Warnings) == 0 {
		t.Fatalf("range query of a rate reaching before the history: got %d %q %s warnings %q, want 200, a matrix of one series of 2 steps, the window's warning", code, r.Error, r.Data, r.Warnings)
	}
	// Over the whole 5m window: the increase of the span held (30 s, then 45 s) and half
	// a spacing extrapolated before it, divided by 300 s.
	for i, want := range []float64{2 * 37.5 / 300, 2 * 52.5 / 300} {
		if got, err := strconv.ParseFloat(fmt.Sprint(d.Result[0].Values[i][1]), 64); err != nil || math.Abs(got-want) > 0.01 {
			t.Errorf("step %d: %v, want %.3f, Prometheus' rate over the whole window", i, d.Result[0].Values[i][1], want)
		}
	}
}

// TestRateOverTheSpanHeldOfTwoYoungServices: a rate whose selector reads two Services
// both younger than its window, one scraped for two minutes and one for one, is each
// one's rate over the span held: the window starts at the latest of their first samples
// (less a spacing). Narrowed to the earliest, the one-minute Service's rate divided its
// minute's increase by more than two minutes: half its load.
func TestRateOverTheSpanHeldOfTwoYoungServices(t *testing.T) {
	a, b := newService(t, "twominutes", 1, ""), newService(t, "oneminute", 1, "")
	srv, base := runReadyServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(a), serviceConfig(b)},
		MaxAge: time.Nanosecond, Interval: time.Hour})
	now := time.Now()
	began := now.Add(-2 * time.Minute)
	body := func(at time.Time) string { // 2 requests a second
		return fmt.Sprintf("# TYPE reqs_total counter\nreqs_total %.3f\n", 1000+2*at.Sub(began).Seconds())
	}
	for i, from := range []time.Time{began, now.Add(-time.Minute)} {
		p := []*podscrapetest.Service{a, b}[i].Pods()[0]
		scrapedInThePast(t, srv, i, p, from, now.Add(-time.Second), 15*time.Second, body)
	}
	code, r := query(t, base, "sum by (job) (rate(reqs_total[5m]))")
	v := vector(t, r)
	if code != http.StatusOK || len(v) != 2 || len(r.Warnings) != 2 {
		t.Fatalf("got %d %q %s warnings %q, want 200, a value per Service, each one's warning", code, r.Error, r.Data, r.Warnings)
	}
	for _, s := range v {
		if got, err := strconv.ParseFloat(fmt.Sprint(s.Value[1]), 64); err != nil || math.Abs(got-2) > 0.1 {
			t.Errorf("rate of service %s: %v, want 2, its rate over the span it holds", s.Metric["job"], s.Value[1])
		}
	}
}

// TestRateOverTheSpanHeldAtAnAskedTime: an instant rate asked at a time in the past (a
// dashboard's instant panel, a client's time not read as now) is narrowed to the span
// held at that time, not at now: narrowed at now, its window, evaluated at the time
// asked, starts as much earlier before the first sample, and the rate reads low.
func TestRateOverTheSpanHeldAtAnAskedTime(t *testing.T) {
	svc := newService(t, "vllm", 1, "")
	p := svc.Pods()[0]
	srv, base := runReadyServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)},
		MaxAge: time.Nanosecond, Interval: time.Hour})
	now := time.Now()
	began := now.Add(-90 * time.Second)
	body := func(at time.Time) string { // 2 requests a second
		return fmt.Sprintf("# TYPE reqs_total counter\nreqs_total %.3f\n", 1000+2*at.Sub(began).Seconds())
	}
	scrapedInThePast(t, srv, 0, p, began, now, 15*time.Second, body)
	asked := now.Add(-37 * time.Second) // between two scrapes, 53 s after the first
	code, r := call(t, http.MethodGet, base, "/api/v1/query", url.Values{"query": {"rate(reqs_total[5m])"}, "time": {formatTime(asked)}})
	v := vector(t, r)
	if code != http.StatusOK || len(v) != 1 || len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "shorter span") {
		t.Fatalf("rate 53 s after the first scrape: got %d %q %s warnings %q, want 200, one value, the window's warning", code, r.Error, r.Data, r.Warnings)
	}
	if got, err := strconv.ParseFloat(fmt.Sprint(v[0].Value[1]), 64); err != nil || math.Abs(got-2) > 0.1 {
		t.Errorf("rate 53 s after the first scrape: %v, want 2, the rate over the span held then", v[0].Value[1])
	}
}

// scrapedInThePast builds the i-th Service's history in the past (serve.ScrapeAt): its
// pod p answers body(at) at each at from from, every every, before until; then it answers
// body of now.
func scrapedInThePast(t *testing.T, srv *serve.Server, i int, p *podscrapetest.Pod, from, until time.Time, every time.Duration, body func(time.Time) string) {
	t.Helper()
	for at := from; at.Before(until); at = at.Add(every) {
		p.SetBody(body(at))
		if err := serve.ScrapeAt(t.Context(), srv, i, at); err != nil {
			t.Fatal(err)
		}
	}
	p.SetBody(body(time.Now()))
}
