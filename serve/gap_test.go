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

// pastOutage serves a Service of one pod exposing a counter that grows by 1 a second,
// and builds its history in the past (serve.ScrapeAt): scraped every 15 s from 10
// minutes ago, every scrape failing from 6 minutes ago, and answering again for the last
// minute (a 5-minute outage of the Service). Each query then scrapes first (MaxAge).
func pastOutage(t *testing.T, allowPartial bool) string {
	t.Helper()
	svc := newService(t, "vllm", 1, "")
	p := svc.Pods()[0]
	srv, base := runReadyServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)},
		MaxAge: time.Nanosecond, Interval: time.Hour, Retention: 30 * time.Minute, AllowPartialWindows: allowPartial})
	now := time.Now()
	began := now.Add(-10 * time.Minute)
	body := func(at time.Time) string {
		return fmt.Sprintf("# TYPE reqs_total counter\nreqs_total %d\n", int(at.Sub(began).Seconds()))
	}
	for at := began; at.Before(now); at = at.Add(15 * time.Second) {
		if outage := at.After(now.Add(-6*time.Minute)) && at.Before(now.Add(-time.Minute)); outage {
			p.SetHandler(failing)
		} else {
			p.SetBody(body(at))
		}
		if err := serve.ScrapeAt(t.Context(), srv, 0, at); err != nil {
			t.Fatal(err)
		}
	}
	p.SetBody(body(time.Now()))
	return base
}

// TestWindowStartingInAnOutageIsPartial: a Service's every pod failed for 5 minutes, the
// outage ending a minute ago. increase(reqs_total[5m]) starts in the outage and adds up
// only the last minute's growth: 422 (the library's ErrPartialWindow), not 200 with a
// fifth of the truth; rate over it warns; so do the windows of a subquery's steps. A
// window after the outage is whole.
func TestWindowStartingInAnOutageIsPartial(t *testing.T) {
	base := pastOutage(t, false)
	if code, r := query(t, base, "sum(increase(reqs_total[5m]))"); code != http.StatusUnprocessableEntity || r.ErrorType != "execution" || !strings.Contains(r.Error, "gap") {
		t.Errorf("increase over a window starting in the outage: got %d %q %q %s, want 422 execution naming the gap", code, r.ErrorType, r.Error, r.Data)
	}
	if code, r := query(t, base, "sum(rate(reqs_total[5m]))"); code != http.StatusOK || len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "gap") {
		t.Errorf("rate over a window starting in the outage: got %d %q %q, want 200 and a warning naming the gap", code, r.Error, r.Warnings)
	} else if v := vector(t, r); len(v) != 1 || v[0].Value[1] == nil {
		t.Errorf("rate over a window starting in the outage: got %s, want one value", r.Data)
	} else if got, err := strconv.ParseFloat(fmt.Sprint(v[0].Value[1]), 64); err != nil || math.Abs(got-1) > 0.05 {
		// Over the minute since the outage, 1 a second; divided by the whole 5 minutes,
		// a fifth of it.
		t.Errorf("rate over a window starting in the outage: %v, want the rate over the span after the gap, 1", v[0].Value[1])
	}
	// A subquery's steps whose windows start in the outage: its window does not.
	if code, r := query(t, base, "max_over_time(sum(increase(reqs_total[1m]))[6m:1m])"); code != http.StatusUnprocessableEntity || !strings.Contains(r.Error, "gap") {
		t.Errorf("increase in a subquery whose steps' windows start in the outage: got %d %q %s, want 422 naming the gap", code, r.Error, r.Data)
	}
	if code, r := query(t, base, "sum(increase(reqs_total[45s]))"); code != http.StatusOK || len(r.Warnings) != 0 || len(vector(t, r)) != 1 {
		t.Errorf("increase over a window after the outage: got %d %q %q %s, want 200, one sample and no warning", code, r.Error, r.Warnings, r.Data)
	}
}

// TestWindowStartingInAnOutageAllowPartial: under AllowPartialWindows, the increase over
// a window starting in the outage answers, with a warning naming the gap.
func TestWindowStartingInAnOutageAllowPartial(t *testing.T) {
	base := pastOutage(t, true)
	if code, r := query(t, base, "sum(increase(reqs_total[5m]))"); code != http.StatusOK || len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "gap") {
		t.Errorf("increase over a window starting in the outage, partial windows allowed: got %d %q %q, want 200 and a warning naming the gap", code, r.Error, r.Warnings)
	}
}
