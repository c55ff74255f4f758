package serve_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

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
	if err := serve.AppendAhead(t.Context(), srv, 0, time.Hour); err != nil {
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
