package serve_test

import (
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/podscrape/podscrape/podscrapetest"
	"github.com/podscrape/podscrape/serve"
)

// failedScrapeTime returns the time of pod's up sample at a scrape it fails (MaxAge: the
// query scrapes), not a whole second (which a query's time under MaxAge may read as now).
func failedScrapeTime(t *testing.T, base, pod string) time.Time {
	t.Helper()
	for {
		code, r := query(t, base, `timestamp(up{pod="`+pod+`"} == 0)`)
		v := vector(t, r)
		if code != http.StatusOK || len(v) != 1 {
			t.Fatalf("timestamp of pod %s's failed scrape: got %d %q %s, want one sample", pod, code, r.Error, r.Data)
		}
		var ts float64
		if _, err := fmt.Sscan(v[0].Value[1].(string), &ts); err != nil {
			t.Fatal(err)
		}
		if at := time.UnixMilli(int64(math.Round(ts * 1000))); at.Nanosecond() != 0 {
			return at
		}
	}
}

// outageOfOnePod serves a Service of one pod under a MaxAge of 1ns (each query scrapes
// first), sees expr answered, then the pod fail (503), and returns the pod, answering
// again, the server's base URL and the time of a scrape in which it failed.
func outageOfOnePod(t *testing.T, expr string) (*podscrapetest.Pod, string, time.Time) {
	t.Helper()
	svc := newService(t, "vllm", 1, waiting)
	p := svc.Pods()[0]
	base := startServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}, MaxAge: time.Nanosecond})
	if code, r := query(t, base, expr); code != http.StatusOK || len(vector(t, r)) != 1 {
		t.Fatalf("healthy: %d %q %s", code, r.Error, r.Data)
	}
	p.SetHandler(failing)
	if code, r := query(t, base, expr); code != http.StatusServiceUnavailable {
		t.Fatalf("every pod failing: %d %q %s, want 503", code, r.Error, r.Data)
	}
	at := failedScrapeTime(t, base, p.Name)
	p.SetBody(waiting)
	return p, base, at
}

// TestInstantQueryAtAnOutageIsUnavailable: an instant query at a time t that reads a
// scrape in which every pod failed (their staleness markers), asked once a later scrape
// succeeded: the evaluation read the outage and answered [] (KEDA's 0), while the check
// read the latest scrape and found the pods answering. A client whose clock is behind
// serve's, or KEDA's time written to the second, lands there in the interval's first
// second after an outage ends. The scrape the evaluation reads decides: 503 naming the
// pod; a time after the recovery is answered.
func TestInstantQueryAtAnOutageIsUnavailable(t *testing.T) {
	const expr = "sum(vllm:num_requests_waiting)"
	p, base, at := outageOfOnePod(t, expr)
	ask := func(at time.Time) (int, apiResponse) {
		return call(t, http.MethodGet, base, "/api/v1/query", url.Values{"query": {expr}, "time": {fmt.Sprintf("%.3f", float64(at.UnixMilli())/1000)}})
	}
	code, r := ask(at) // scrapes first (MaxAge): the pod answers again
	if code != http.StatusServiceUnavailable || r.ErrorType != "unavailable" || !strings.Contains(r.Error, "pod "+p.Name) {
		t.Errorf("at %s, when every pod had failed: got %d %q %q %s, want 503 unavailable naming pod %s", at, code, r.ErrorType, r.Error, r.Data, p.Name)
	}
	code, r = query(t, base, expr)
	if code != http.StatusOK || len(vector(t, r)) != 1 {
		t.Fatalf("now, the pod answering: got %d %q %s, want 200 and one sample", code, r.Error, r.Data)
	}
	// The time that answer was evaluated at, after the scrape in which the pod answered.
	later := time.UnixMilli(int64(vector(t, r)[0].Value[0].(float64) * 1000))
	if code, r := ask(later); code != http.StatusOK || len(vector(t, r)) != 1 {
		t.Errorf("at %s, after the pod answered again: got %d %q %s, want 200 and one sample", later, code, r.Error, r.Data)
	}
}

// TestInstantQueryAtAModelsOutageIsUnavailable: as TestInstantQueryAtAnOutageIsUnavailable
// for one model of two behind a Service: at a time that reads the scrape in which model
// b's only pod failed, model b's query is 503 naming the pod, model a's is answered.
func TestInstantQueryAtAModelsOutageIsUnavailable(t *testing.T) {
	svc := newService(t, "vllm", 2, waiting)
	a, b := svc.Pods()[0], svc.Pods()[1]
	a.SetBody("# TYPE vllm:num_requests_waiting gauge\nvllm:num_requests_waiting{model_name=\"a\"} 9\n")
	const ofB = "# TYPE vllm:num_requests_waiting gauge\nvllm:num_requests_waiting{model_name=\"b\"} 1\n"
	b.SetBody(ofB)
	base := startServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}, MaxAge: time.Nanosecond})
	const queryA, queryB = `sum(vllm:num_requests_waiting{model_name="a"})`, `sum(vllm:num_requests_waiting{model_name="b"})`
	if code, r := query(t, base, queryB); code != http.StatusOK || len(vector(t, r)) != 1 {
		t.Fatalf("healthy: %d %q %s", code, r.Error, r.Data)
	}
	b.SetHandler(failing)
	if code, r := query(t, base, queryB); code != http.StatusServiceUnavailable {
		t.Fatalf("model b's pod failing: %d %q %s, want 503", code, r.Error, r.Data)
	}
	at := failedScrapeTime(t, base, b.Name)
	b.SetBody(ofB)
	ask := func(expr string) (int, apiResponse) {
		return call(t, http.MethodGet, base, "/api/v1/query", url.Values{"query": {expr}, "time": {fmt.Sprintf("%.3f", float64(at.UnixMilli())/1000)}})
	}
	code, r := ask(queryB)
	if code != http.StatusServiceUnavailable || r.ErrorType != "unavailable" || !strings.Contains(r.Error, "pod "+b.Name) {
		t.Errorf("model b at %s, when its pod had failed: got %d %q %q %s, want 503 unavailable naming pod %s", at, code, r.ErrorType, r.Error, r.Data, b.Name)
	}
	if code, r := ask(queryA); code != http.StatusOK || len(vector(t, r)) != 1 || vector(t, r)[0].Value[1] != "9" {
		t.Errorf("model a at %s: got %d %q %s, want 200 and 9", at, code, r.Error, r.Data)
	}
}

// TestSelectorPinnedAtAnOutageIsUnavailable: an instant selector pinned by @ (or moved
// by an offset) to a time whose scrape every pod failed reads their staleness markers:
// sum(x @ t) answered [] at now, the pods answering. As for a query's time that reads
// it: 503 naming the pod; pinned after the recovery, answered.
func TestSelectorPinnedAtAnOutageIsUnavailable(t *testing.T) {
	const expr = "sum(vllm:num_requests_waiting)"
	p, base, down := outageOfOnePod(t, expr)
	code, r := query(t, base, expr)
	if code != http.StatusOK || len(vector(t, r)) != 1 {
		t.Fatalf("the pod answering again: got %d %q %s, want 200 and one sample", code, r.Error, r.Data)
	}
	up := time.UnixMilli(int64(vector(t, r)[0].Value[0].(float64) * 1000)) // after the scrape that answered
	at := func(t time.Time) string { return fmt.Sprintf("%.3f", float64(t.UnixMilli())/1000) }

	pinned := "sum(vllm:num_requests_waiting @ " + at(down) + ")"
	if code, r := query(t, base, pinned); code != http.StatusServiceUnavailable || r.ErrorType != "unavailable" || !strings.Contains(r.Error, "pod "+p.Name) {
		t.Errorf("%s, when every pod had failed: got %d %q %q %s, want 503 unavailable naming pod %s", pinned, code, r.ErrorType, r.Error, r.Data, p.Name)
	}
	if code, r := query(t, base, "sum(vllm:num_requests_waiting @ "+at(up)+")"); code != http.StatusOK || len(vector(t, r)) != 1 {
		t.Errorf("pinned after the pod answered again: got %d %q %s, want 200 and one sample", code, r.Error, r.Data)
	}
	// An offset from a pinned time reads the same scrape.
	offset := "sum(vllm:num_requests_waiting @ " + at(up) + " offset " + fmt.Sprint(up.Sub(down).Milliseconds()) + "ms)"
	if code, r := query(t, base, offset); code != http.StatusServiceUnavailable || !strings.Contains(r.Error, "pod "+p.Name) {
		t.Errorf("%s, when every pod had failed: got %d %q %s, want 503 naming pod %s", offset, code, r.Error, r.Data, p.Name)
	}
}

// TestInstantQueryAtAScrapeWithAFailedPodIsWarned: an instant query at a time that reads
// a scrape in which one pod of two failed, asked once a later scrape found it back (a
// client's clock behind serve's; KEDA's time to the second, in the second after that
// scrape). The evaluation reads the earlier scrape and leaves the pod out (the sum is the
// other pod's alone), as every pod failing it is a 503; the check read only the latest
// scrape, where the pod answers: half the load with no warning at all.
func TestInstantQueryAtAScrapeWithAFailedPodIsWarned(t *testing.T) {
	svc := newService(t, "vllm", 2, waiting)
	srv, base := runReadyServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}, Interval: 4 * time.Minute})
	a := svc.Pods()[0]
	a.SetHandler(failing)
	serve.ScrapeNow(t.Context(), srv) // read at the query's time: a failed
	at := time.Now()
	a.SetBody(waiting)
	if err := serve.ScrapeAt(t.Context(), srv, 0, at.Add(time.Second)); err != nil { // the latest, ending after the query's time: a answers
		t.Fatal(err)
	}
	code, r := call(t, http.MethodGet, base, "/api/v1/query", url.Values{"query": {"sum(vllm:num_requests_waiting)"}, "time": {fmt.Sprintf("%.3f", float64(at.UnixMilli())/1000)}})
	if code != http.StatusOK {
		t.Fatalf("got %d %q %s", code, r.Error, r.Data)
	}
	if v := vector(t, r); len(v) != 1 || v[0].Value[1] != "3" {
		t.Fatalf("the evaluation read the scrape in which %s failed: got %s, want the other pod's 3 (the test's premise)", a.Name, r.Data)
	}
	if !slices.ContainsFunc(r.Warnings, func(w string) bool { return strings.Contains(w, a.Name) }) {
		t.Errorf("a sum without pod %s, which failed the scrape the query's time reads: warnings %q, want one naming it", a.Name, r.Warnings)
	}
	// A selector pinned by @ to that scrape, at now, alike.
	pinned := fmt.Sprintf("sum(vllm:num_requests_waiting @ %.3f)", float64(at.UnixMilli())/1000)
	code, r = query(t, base, pinned)
	if v := vector(t, r); code != http.StatusOK || len(v) != 1 || v[0].Value[1] != "3" {
		t.Fatalf("%s: got %d %q %s, want the other pod's 3 (the test's premise)", pinned, code, r.Error, r.Data)
	}
	if !slices.ContainsFunc(r.Warnings, func(w string) bool { return strings.Contains(w, a.Name) }) {
		t.Errorf("%s, without pod %s, which failed the scrape it reads: warnings %q, want one naming it", pinned, a.Name, r.Warnings)
	}
}

// TestInstantQueryAtAModelsPodNotReadyIsUnavailable: an instant query at a time that
// reads a scrape in which model b's only pod was not Ready (failing its readiness probe
// under load: skipped, its series marked stale), asked once a later scrape found it
// Ready again. The evaluation reads the staleness markers and answers [] (KEDA's 0), as
// it would for a pod that failed that scrape, which is 503; the check read the latest
// scrape, where the pod answers. Model a's query at that time is answered.
func TestInstantQueryAtAModelsPodNotReadyIsUnavailable(t *testing.T) {
	svc := newService(t, "vllm", 2, waiting)
	a, b := svc.Pods()[0], svc.Pods()[1]
	a.SetBody("# TYPE vllm:num_requests_waiting gauge\nvllm:num_requests_waiting{model_name=\"a\"} 9\n")
	b.SetBody("# TYPE vllm:num_requests_waiting gauge\nvllm:num_requests_waiting{model_name=\"b\"} 1\n")
	srv, base := runReadyServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}, Interval: 4 * time.Minute})
	const queryA, queryB = `sum(vllm:num_requests_waiting{model_name="a"})`, `sum(vllm:num_requests_waiting{model_name="b"})`
	if err := b.SetReady(t.Context(), false); err != nil {
		t.Fatal(err)
	}
	serve.ScrapeNow(t.Context(), srv) // read at the query's time: b not Ready, its series stale
	if code, r := query(t, base, queryB); code != http.StatusServiceUnavailable {
		t.Fatalf("model b's only pod not Ready: got %d %q %s, want 503 (the test's premise)", code, r.Error, r.Data)
	}
	at := time.Now()
	if err := b.SetReady(t.Context(), true); err != nil {
		t.Fatal(err)
	}
	if err := serve.ScrapeAt(t.Context(), srv, 0, at.Add(time.Second)); err != nil { // the latest, ending after the query's time: b answers
		t.Fatal(err)
	}
	ask := func(expr string) (int, apiResponse) {
		return call(t, http.MethodGet, base, "/api/v1/query", url.Values{"query": {expr}, "time": {fmt.Sprintf("%.3f", float64(at.UnixMilli())/1000)}})
	}
	if code, r := ask(queryB); code == http.StatusOK && len(vector(t, r)) == 0 {
		t.Errorf("model b at %s, when its only pod was not Ready: got 200 %s with warnings %q, want 503 naming pod %s", at, r.Data, r.Warnings, b.Name)
	} else if code != http.StatusServiceUnavailable || !strings.Contains(r.Error, "pod "+b.Name) {
		t.Errorf("model b at %s, when its only pod was not Ready: got %d %q %s, want 503 naming pod %s", at, code, r.Error, r.Data, b.Name)
	}
	if code, r := ask(queryA); code != http.StatusOK || len(vector(t, r)) != 1 || vector(t, r)[0].Value[1] != "9" {
		t.Errorf("model a at %s: got %d %q %s, want 200 and 9", at, code, r.Error, r.Data)
	}
	// Both models' sum then is model a's alone: answered, warned of pod b.
	code, r := ask("sum(vllm:num_requests_waiting)")
	if v := vector(t, r); code != http.StatusOK || len(v) != 1 || v[0].Value[1] != "9" {
		t.Fatalf("both models at %s: got %d %q %s, want 200 and model a's 9", at, code, r.Error, r.Data)
	}
	if !slices.ContainsFunc(r.Warnings, func(w string) bool { return strings.Contains(w, "pod "+b.Name+": not Ready") }) {
		t.Errorf("both models at %s, without pod %s, not Ready then: warnings %q, want one naming it", at, b.Name, r.Warnings)
	}
}
