package serve_test

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

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
	for at := began; at.Before(now); at = at.Add(15 * time.Second) {
		p.SetBody(body(at))
		if err := serve.ScrapeAt(t.Context(), srv, 0, at); err != nil {
			t.Fatal(err)
		}
	}
	p.SetBody(body(time.Now()))
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
