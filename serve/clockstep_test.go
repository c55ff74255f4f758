package serve_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"

	"github.com/podscrape/podscrape/serve"
)

// TestClockStepBackWithEveryPodFailedIsUnavailable: the clock ran ahead and is stepped
// back, and at the scrape that starts the history over every pod fails. The history no
// longer holds the Service's series, but the Service exposed them before the step: a
// query of them is 503 naming the pods, not the empty answer of a Service it does not
// read (KEDA's 0).
func TestClockStepBackWithEveryPodFailedIsUnavailable(t *testing.T) {
	svc := newService(t, "vllm", 2, waiting)
	srv, base := runReadyServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}, MaxAge: time.Nanosecond, Interval: time.Hour})
	const expr = "sum(vllm:num_requests_waiting)"
	if code, r := query(t, base, expr); code != http.StatusOK || len(vector(t, r)) != 1 {
		t.Fatalf("healthy: got %d %q %s, want 200 and one sample", code, r.Error, r.Data)
	}
	if err := serve.AppendAhead(t.Context(), srv, 0, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	for _, p := range svc.Pods() {
		p.SetHandler(failing)
	}
	code, r := query(t, base, expr) // scrapes (MaxAge): the history starts over
	if code != http.StatusServiceUnavailable || r.ErrorType != "unavailable" || !strings.Contains(r.Error, svc.Pods()[0].Name) {
		t.Errorf("every pod failed at the scrape after the clock stepped back: got %d %q %q %s, want 503 unavailable naming the pods", code, r.ErrorType, r.Error, r.Data)
	}
	// A metric the Service never exposed is still not its to answer for.
	if code, r := query(t, base, "sum(other_metric)"); code != http.StatusOK {
		t.Errorf("a metric the Service never exposed: got %d %q, want 200", code, r.Error)
	}
}

// TestClockStepBackKeepsNotReadyPods: a model's only pod is not Ready (overloaded) when
// the clock is stepped back. The history starts over without the pod's series, but the
// pod still holds the model's load: a query of the model stays 503 naming it, and one of
// every model warns that it leaves the pod out, as before the step, not an answer that
// reads as no load.
func TestClockStepBackKeepsNotReadyPods(t *testing.T) {
	svc := newService(t, "vllm", 2, waiting)
	a, b := svc.Pods()[0], svc.Pods()[1]
	a.SetBody("# TYPE vllm:num_requests_waiting gauge\nvllm:num_requests_waiting{model_name=\"a\"} 9\n")
	b.SetBody("# TYPE vllm:num_requests_waiting gauge\nvllm:num_requests_waiting{model_name=\"b\"} 1\n")
	srv, base := runReadyServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}, MaxAge: time.Nanosecond, Interval: time.Hour})
	const all, ofB = `sum(vllm:num_requests_waiting)`, `sum(vllm:num_requests_waiting{model_name="b"})`
	if code, r := query(t, base, all); code != http.StatusOK || len(r.Warnings) != 0 {
		t.Fatalf("healthy: got %d %q %q, want 200 and no warning", code, r.Error, r.Warnings)
	}
	if err := b.SetReady(t.Context(), false); err != nil {
		t.Fatal(err)
	}
	if code, r := query(t, base, ofB); code != http.StatusServiceUnavailable || !strings.Contains(r.Error, "pod "+b.Name+": not Ready") {
		t.Fatalf("model b's only pod not Ready: got %d %q, want 503 naming it", code, r.Error)
	}
	if err := serve.AppendAhead(t.Context(), srv, 0, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	for i := range 3 { // the scrape that starts the history over, and the ones after it
		if code, r := query(t, base, ofB); code != http.StatusServiceUnavailable || !strings.Contains(r.Error, "pod "+b.Name+": not Ready") {
			t.Errorf("scrape %d after the clock stepped back, model b's only pod not Ready: got %d %q %s, want 503 naming it", i, code, r.Error, r.Data)
		}
		if code, r := query(t, base, all); code != http.StatusOK || len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "pod "+b.Name+": not Ready") {
			t.Errorf("scrape %d after the clock stepped back: got %d %q %q, want 200 and a warning of pod %s", i, code, r.Error, r.Warnings, b.Name)
		}
	}
}

// TestClockStepBackIsLogged: the history starting over is logged, naming the Service and
// the step, as the library logs it: the 422s of rate() windows filling again from there
// have a cause an operator can find.
func TestClockStepBackIsLogged(t *testing.T) {
	svc := newService(t, "vllm", 1, waiting)
	var got lockedLog
	log := got.logger(0)
	srv, base := runServerOf(t, logr.NewContext(t.Context(), log), serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}, MaxAge: time.Nanosecond, Interval: time.Hour})
	waitReady(t, srv)
	if err := serve.AppendAhead(t.Context(), srv, 0, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if code, r := query(t, base, "sum(vllm:num_requests_waiting)"); code != http.StatusOK {
		t.Fatalf("after the step: got %d %q, want 200", code, r.Error)
	}
	if s := got.String(); !strings.Contains(s, "clock stepped back") || !strings.Contains(s, svc.Namespace+"/"+svc.Name) {
		t.Errorf("log after the clock stepped back:\n%s\nwant a 'clock stepped back' line naming service %s/%s", s, svc.Namespace, svc.Name)
	}
}

// TestClockStepBackIsCounted: the history starting over counts in
// podscrape_serve_history_resets_total{service}, exported at 0 from the start, so that an
// alert sees the step (the log alone, and the 422s of windows filling again, which read
// as any partial window, did not say it to an alert).
func TestClockStepBackIsCounted(t *testing.T) {
	svc := newService(t, "vllm", 1, waiting)
	srv, base := runReadyServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}, MaxAge: time.Nanosecond, Interval: time.Hour})
	series := `podscrape_serve_history_resets_total{service="` + svc.Namespace + "/" + svc.Name + `"}`
	if code, r := query(t, base, "sum(vllm:num_requests_waiting)"); code != http.StatusOK {
		t.Fatalf("healthy: got %d %q, want 200", code, r.Error)
	}
	if got := metricValue(t, base, series); got != 0 {
		t.Errorf("%s before the step: %v (-1: not exported), want 0", series, got)
	}
	if err := serve.AppendAhead(t.Context(), srv, 0, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	for range 2 { // the scrape that starts the history over, and one after it
		if code, r := query(t, base, "sum(vllm:num_requests_waiting)"); code != http.StatusOK {
			t.Fatalf("after the step: got %d %q, want 200", code, r.Error)
		}
	}
	if got := metricValue(t, base, series); got != 1 {
		t.Errorf("%s after one step back: %v, want 1", series, got)
	}
}
