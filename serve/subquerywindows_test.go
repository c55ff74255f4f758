package serve_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/podscrape/podscrape/serve"
)

// TestSubqueryRateOverNoPairIsRefused: two scrapes milliseconds apart, both after the
// last minute boundary. A rate evaluated in a subquery stepping by a minute reads windows
// ending at the boundaries, none holding the two (nested: the inner steps the outer ones
// read); a deriv over a subquery of rates reads the rate's points, of which there are
// none. Each answers nothing, and "or vector(0)" would answer 0, "no load": 422 naming the
// window, instant and range, as the library's Error is. The pair counted anywhere in the
// span the subqueries cover answered 200 and 0. Evaluated after the next boundary, the
// subquery's step holds both scrapes and the rate answers.
func TestSubqueryRateOverNoPairIsRefused(t *testing.T) {
	exprs := map[string]string{
		"max_over_time(rate(reqs_total[1m])[1m:1m]) or vector(0)":                       "rate(reqs_total[1m])",
		"max_over_time(max_over_time(rate(reqs_total[1m])[1m:1m])[1m:1m]) or vector(0)": "rate(reqs_total[1m])",
		"deriv(sum(rate(reqs_total[1m]))[5m:1m]) or vector(0)":                          "deriv(",
	}
	svc := newService(t, "vllm", 1, "# TYPE reqs counter\nreqs_total 10\n")
	cfg := serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}, MaxAge: time.Nanosecond}
	for attempt := 1; ; attempt++ {
		svc.Pods()[0].SetBody("# TYPE reqs counter\nreqs_total 10\n")
		before := time.Now()
		base := startServer(t, cfg) // the first scrape
		svc.Pods()[0].SetBody("# TYPE reqs counter\nreqs_total 20\n")
		type answer struct {
			code int
			r    apiResponse
		}
		instant, ranged := map[string]answer{}, map[string]answer{}
		for expr := range exprs {
			code, r := query(t, base, expr) // scrapes again, evaluated at now
			instant[expr] = answer{code, r}
			// Ending now: no scrape for it, every step before the scrapes' boundary.
			now := time.Now()
			code, r = call(t, http.MethodGet, base, "/api/v1/query_range", url.Values{
				"query": {expr}, "start": {formatTime(now.Add(-5 * time.Minute))}, "end": {formatTime(now)}, "step": {"15"},
			})
			ranged[expr] = answer{code, r}
		}
		if after := time.Now(); after.Truncate(time.Minute) != before.Truncate(time.Minute) {
			// A minute boundary between the scrapes and the evaluations: a step's window
			// may hold two of them. Synchronise on the clock: again, within one minute.
			if attempt == 3 {
				t.Fatal("three attempts straddled a minute boundary")
			}
			continue
		}
		for expr, window := range exprs {
			for kind, a := range map[string]answer{"query": instant[expr], "query_range": ranged[expr]} {
				if a.code != http.StatusUnprocessableEntity || a.r.ErrorType != "execution" ||
					!strings.Contains(a.r.Error, window) || !strings.Contains(a.r.Error, "one scrape") {
					t.Errorf("%s %s: got %d %q %s warnings %q, want 422 naming %s over one scrape",
						kind, expr, a.code, a.r.Error, a.r.Data, a.r.Warnings, window)
				}
			}
		}
		// After the next boundary, the subquery's step there holds the scrapes: the
		// rate answers (a time after now is evaluated as asked).
		next := time.Now().Truncate(time.Minute).Add(time.Minute + time.Second)
		for _, expr := range []string{
			"max_over_time(rate(reqs_total[1m])[1m:1m])",
			"max_over_time(max_over_time(rate(reqs_total[1m])[1m:1m])[1m:1m])",
		} {
			code, r := call(t, http.MethodGet, base, "/api/v1/query", url.Values{"query": {expr}, "time": {formatTime(next)}})
			if v := vector(t, r); code != http.StatusOK || len(v) != 1 || v[0].Value[1] == "0" {
				t.Errorf("%s after the next minute boundary: got %d %q %s, want 200 and the rate", expr, code, r.Error, r.Data)
			}
		}
		return
	}
}

// TestRangeQueryRateBetweenItsSteps: a range query's rate is evaluated at its steps only.
// Two scrapes milliseconds apart, a range query stepping by 5 minutes whose steps' 1 m
// windows hold neither: every step answers nothing, and "or vector(0)" 0 at each, "no
// load": 422, not the pair counted anywhere in the span the steps cover (200 and zeros).
func TestRangeQueryRateBetweenItsSteps(t *testing.T) {
	const expr = "sum(rate(reqs_total[1m])) or vector(0)"
	svc := newService(t, "vllm", 1, "# TYPE reqs counter\nreqs_total 10\n")
	base := startServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}, MaxAge: time.Nanosecond})
	svc.Pods()[0].SetBody("# TYPE reqs counter\nreqs_total 20\n")
	if code, r := query(t, base, expr); code != http.StatusOK || len(vector(t, r)) != 1 || vector(t, r)[0].Value[1] == "0" {
		t.Fatalf("instant query over two scrapes: got %d %q %s, want 200 and the rate", code, r.Error, r.Data)
	}
	// Steps 30 s before the scrapes and 4.5 minutes after them (past end).
	now := time.Now()
	code, r := call(t, http.MethodGet, base, "/api/v1/query_range", url.Values{
		"query": {expr}, "start": {formatTime(now.Add(-10*time.Minute - 30*time.Second))}, "end": {formatTime(now.Add(4 * time.Minute))}, "step": {"300"},
	})
	if code != http.StatusUnprocessableEntity || !strings.Contains(r.Error, "rate(reqs_total[1m])") || !strings.Contains(r.Error, "one scrape") {
		t.Errorf("range query whose steps' windows hold no scrape: got %d %q %s, want 422 naming the window", code, r.Error, r.Data)
	}
	// Stepping by 15 s, a step's window holds both: the rate answers there.
	code, r = call(t, http.MethodGet, base, "/api/v1/query_range", url.Values{
		"query": {expr}, "start": {formatTime(now.Add(-10*time.Minute - 30*time.Second))}, "end": {formatTime(now.Add(4 * time.Minute))}, "step": {"15"},
	})
	if code != http.StatusOK {
		t.Errorf("range query whose steps' windows hold the scrapes: got %d %q, want 200", code, r.Error)
	}
}

// TestRangeQueryWindowOfStep: a range query's step() and range() in a duration
// expression are its step and its span, as the engine evaluates them
// (rate(x[step()*4]) at a 15 s step is rate(x[1m])); the window checks read them as an
// instant query's, zero: no window at all, and a rate over the one scrape held answered
// 200 and vector(0)'s zeros, where rate(x[1m]) answers 422.
func TestRangeQueryWindowOfStep(t *testing.T) {
	svc := newService(t, "vllm", 1, "# TYPE reqs counter\nreqs_total 10\n")
	base := startServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}, Interval: time.Minute})
	now := time.Now()
	for _, expr := range []string{
		"sum(rate(reqs_total[1m])) or vector(0)",
		"sum(rate(reqs_total[step()*4])) or vector(0)",
		"sum(rate(reqs_total[range()/20])) or vector(0)",
		"max_over_time(sum(rate(reqs_total[1m]))[step()*20:step()*4]) or vector(0)",
	} {
		code, r := call(t, http.MethodGet, base, "/api/v1/query_range", url.Values{
			"query": {expr}, "start": {formatTime(now.Add(-5 * time.Minute))}, "end": {formatTime(now)}, "step": {"15"},
		})
		if code != http.StatusUnprocessableEntity || !strings.Contains(r.Error, "one scrape") {
			t.Errorf("%s over one scrape: got %d %q %s, want 422", expr, code, r.Error, r.Data)
		}
	}
	// The same expression at another step is another window: at 15 s it reads back 1m,
	// at 30 s 2m (an analysis kept for the expression must not give the first one's).
	for step, reach := range map[string]string{"15": "reads back 1m", "30": "reads back 2m"} {
		code, r := call(t, http.MethodGet, base, "/api/v1/query_range", url.Values{
			"query": {"sum(rate(reqs_total[step()*4])) or vector(0)"}, "start": {formatTime(now.Add(-5 * time.Minute))}, "end": {formatTime(now)}, "step": {step},
		})
		if code != http.StatusUnprocessableEntity || !strings.Contains(r.Error, reach) {
			t.Errorf("rate(reqs_total[step()*4]) at step %ss: got %d %q, want 422 saying it %s", step, code, r.Error, reach)
		}
	}
}

// TestRateOverSubqueryAcrossServices: a rate over a subquery whose expression joins two
// Services' series answers from both: the engine is asked over every Service's history,
// not each alone (alone, a Service's history answers nothing of a sum with the other's,
// and the answer would be a 422 the evaluation does not bear out).
func TestRateOverSubqueryAcrossServices(t *testing.T) {
	a := newService(t, "a", 1, "# TYPE a gauge\na 1\n")
	b := newService(t, "b", 1, "# TYPE b gauge\nb 2\n")
	base := startServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(a), serviceConfig(b)}, MaxAge: time.Nanosecond})
	const expr = "irate((sum(a) + on() sum(b))[1m:10s])"
	// 25 s on, the subquery's steps after the scrapes are two or three: irate answers
	// (a time after now is evaluated as asked, the samples held by the lookback).
	at := time.Now().Add(25 * time.Second)
	code, r := call(t, http.MethodGet, base, "/api/v1/query", url.Values{"query": {expr}, "time": {formatTime(at)}})
	if code != http.StatusOK || len(vector(t, r)) != 1 {
		t.Errorf("%s: got %d %q %s, want 200 and a value", expr, code, r.Error, r.Data)
	}
}
