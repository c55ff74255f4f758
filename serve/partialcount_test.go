package serve_test

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/podscrape/podscrape/serve"
)

// TestPartialWindowQueriesAreCountedOncePerService: podscrape_serve_partial_window_queries_total
// counts a query once for each Service it reads short of what that Service's history
// holds, and nothing else, as docs/serve.md has it: not once per window (two windows of a
// query reaching before the history are one query), not for a window the history holds
// (a whole rate would keep PodscrapePartialWindows firing), and not for a Service the
// query does not read, under the Service read (the alert names the Service to size).
// Here vllm, the second Service, holds 10 minutes of scrapes; sglang, the first, only
// its first.
func TestPartialWindowQueriesAreCountedOncePerService(t *testing.T) {
	sglang := newService(t, "sglang", 1, "sglang:num_queue_reqs 1\n")
	vllm := newService(t, "vllm", 1, "")
	srv, base := runReadyServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(sglang), serviceConfig(vllm)},
		MaxAge: time.Nanosecond, Interval: time.Hour, Retention: 30 * time.Minute})
	began := time.Now().Add(-10 * time.Minute)
	scrapedInThePast(t, srv, 1, vllm.Pods()[0], began, time.Now(), 15*time.Second, func(at time.Time) string {
		return fmt.Sprintf("# TYPE reqs_total counter\nreqs_total %d\n", int(at.Sub(began).Seconds()))
	})
	counted := func() (sglangN, vllmN float64) {
		t.Helper()
		series := func(svcNS, svcName string) string {
			return `podscrape_serve_partial_window_queries_total{service="` + svcNS + "/" + svcName + `"}`
		}
		return metricValue(t, base, series(sglang.Namespace, sglang.Name)), metricValue(t, base, series(vllm.Namespace, vllm.Name))
	}
	if s, v := counted(); s != 0 || v != 0 {
		t.Fatalf("before any query: sglang %v, vllm %v (-1: not exported), want 0 and 0", s, v)
	}

	if code, r := query(t, base, "sum(rate(reqs_total[5m]))"); code != http.StatusOK || len(r.Warnings) != 0 {
		t.Fatalf("rate over 5 of the 10 minutes held: %d %q %q, want 200 without a warning", code, r.Error, r.Warnings)
	}
	if s, v := counted(); s != 0 || v != 0 {
		t.Errorf("after a rate over a window held: sglang %v, vllm %v, want 0 and 0", s, v)
	}

	if code, r := query(t, base, "sum(increase(reqs_total[20m])) / sum(increase(reqs_total[15m]))"); code != http.StatusUnprocessableEntity {
		t.Fatalf("two windows reaching before vllm's 10 minutes: %d %q, want 422", code, r.Error)
	}
	if s, v := counted(); s != 0 || v != 1 {
		t.Errorf("after one query of two windows reaching before vllm's history: sglang %v, vllm %v, want 0 and 1", s, v)
	}

	an := time.Now().Add(-time.Hour)
	if code, r := call(t, http.MethodGet, base, "/api/v1/query", url.Values{"query": {"sum(reqs_total)"}, "time": {fmt.Sprint(an.Unix())}}); code != http.StatusUnprocessableEntity {
		t.Fatalf("sum(reqs_total) an hour ago, before both histories: %d %q, want 422", code, r.Error)
	}
	if s, v := counted(); s != 0 || v != 2 {
		t.Errorf("after a selector of vllm's alone before both histories: sglang %v, vllm %v, want 0 and 2", s, v)
	}
}

// partialCounted is podscrape_serve_partial_window_queries_total on base's /metrics,
// summed over its Services.
func partialCounted(t *testing.T, base string) float64 {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for line := range strings.Lines(string(body)) {
		if strings.HasPrefix(line, "podscrape_serve_partial_window_queries_total{") {
			v, err := strconv.ParseFloat(strings.TrimSpace(line[strings.LastIndexByte(line, ' '):]), 64)
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			sum += v
		}
	}
	return sum
}

// TestWindowStartingInAGapIsCounted: a window within the history that starts in a gap of
// the Service's scrapes (a 5-minute outage, pastOutage) reads only what came after it,
// and counts in podscrape_serve_partial_window_queries_total as a window reaching before
// the history does: scrapes failing in gaps keep PodscrapePartialWindows firing, as the
// docs say. A window after the outage counts nothing.
func TestWindowStartingInAGapIsCounted(t *testing.T) {
	base := pastOutage(t, false)
	before := partialCounted(t, base)
	if code, r := query(t, base, "sum(increase(reqs_total[5m]))"); code != http.StatusUnprocessableEntity || !strings.Contains(r.Error, "gap") {
		t.Fatalf("increase over a window starting in the outage: %d %q, want 422 naming the gap", code, r.Error)
	}
	if got := partialCounted(t, base); got != before+1 {
		t.Errorf("after a query of a window starting in a gap: %v, want %v", got, before+1)
	}
	if code, r := query(t, base, "sum(increase(reqs_total[45s]))"); code != http.StatusOK || len(r.Warnings) != 0 {
		t.Fatalf("increase over a window after the outage: %d %q %q, want 200 without a warning", code, r.Error, r.Warnings)
	}
	if got := partialCounted(t, base); got != before+1 {
		t.Errorf("after a query of a window after the outage: %v, want %v still", got, before+1)
	}
}
