package serve

import (
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/podscrape/podscrape/internal/promserver"
	"github.com/podscrape/podscrape/podscrapetest"
	"github.com/podscrape/podscrape/serve"
)

// TestPromtool drives serve with promtool query instant, range, series and labels, and
// check healthy and ready, as a person points promtool at a Prometheus server.
func TestPromtool(t *testing.T) {
	bin := promserver.MustPromtool(t)
	svc := newService(t, podscrapetest.ServiceOptions{Name: "vllm", Pods: 2})
	for i, p := range svc.Pods() {
		p.SetBody(body(i))
	}
	down := newService(t, podscrapetest.ServiceOptions{Name: "down", Pods: 1})
	down.Pods()[0].SetHandler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "boom", http.StatusInternalServerError) }))
	base := startServe(t, serve.Config{Services: []serve.ServiceConfig{{Source: sourceConfig(svc)}, {Source: sourceConfig(down)}}, Interval: time.Second})

	run := func(args ...string) (string, error) {
		out, err := exec.CommandContext(t.Context(), bin, args...).CombinedOutput()
		return string(out), err
	}
	now := time.Now()
	for _, tc := range []struct {
		args  []string
		wants []string
	}{
		{[]string{"query", "instant", base, `sum(vllm:num_requests_waiting{job="vllm"})`}, []string{"{} => 5 @["}},
		{[]string{"query", "instant", base, `max by (pod) (vllm:kv_cache_usage_perc{job="vllm"})`}, []string{`{pod="vllm-0"} => 0.15`, `{pod="vllm-1"} => 0.25`}},
		{[]string{"query", "instant", "-o", "json", base, `count(up{job="vllm"})`}, []string{`"value":[`, `"2"]`}},
		{[]string{"query", "range", "--start", unix(now.Add(-2 * time.Second)), "--end", unix(now), "--step", "1s", base, `sum(vllm:num_requests_waiting{job="vllm"})`}, []string{"{} =>", "5 @["}},
		{[]string{"query", "series", "--match", `vllm:num_requests_waiting{job="vllm"}`, base}, []string{`__name__="vllm:num_requests_waiting"`, `pod="vllm-0"`, `pod="vllm-1"`}},
		{[]string{"query", "labels", base, "job"}, []string{"down", "vllm"}},
		{[]string{"check", "healthy", "--url", base}, []string{"Healthy"}},
		{[]string{"check", "ready", "--url", base}, []string{"Ready"}},
	} {
		out, err := run(tc.args...)
		if err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(tc.args, " "), err, out)
			continue
		}
		for _, w := range tc.wants {
			if !strings.Contains(out, w) {
				t.Errorf("promtool %s: output lacks %q:\n%s", strings.Join(tc.args, " "), w, out)
			}
		}
	}
	// A query that may read the Service whose pod is down fails in promtool too, naming it.
	out, err := run("query", "instant", base, "sum(vllm:num_requests_waiting)")
	if err == nil || !strings.Contains(out, "unavailable") || !strings.Contains(out, down.Namespace+"/down") {
		t.Errorf("promtool, a query that may read the failed Service: %v, want an error naming it:\n%s", err, out)
	}
}

// unix writes t as Unix seconds with milliseconds, as promtool takes times.
func unix(t time.Time) string { return strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', 3, 64) }
