package e2e

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/podscrape/podscrape/internal/promserver"
	"github.com/podscrape/podscrape/source"
)

// TestObservabilityExpositionPassesPromtool: a source's Registerer, served through
// promhttp as a controller's manager serves it, after a refresh in which pods fail in
// every way a limit or a pod can make them (a status, a body that does not parse, one
// over the body size limit, samples over the sample limit, a hang past the timeout, a
// refused connection) and a healthy pod's exposition is cut down (a repeated series) or
// refused by the history (a sample an hour ahead): every family is in the exposition,
// and promtool check metrics finds nothing to say of it.
func TestObservabilityExpositionPassesPromtool(t *testing.T) {
	t.Parallel()
	bin := promserver.MustPromtool(t)
	ahead := fmt.Sprintf("load 1\nload 2\nahead 1 %d\n", time.Now().Add(time.Hour).UnixMilli())
	f := startService(t,
		podDef{name: "healthy", handler: serve([]byte(ahead))},
		podDef{name: "error500", handler: failWith(http.StatusInternalServerError)},
		podDef{name: "garbage", handler: serve([]byte("not an exposition {\n"))},
		podDef{name: "big", handler: serve([]byte("load 1\n" + strings.Repeat("# padding\n", 40)))},
		podDef{name: "many", handler: serve([]byte("a 1\nb 1\nc 1\nd 1\ne 1\n"))},
		podDef{name: "hung", handler: http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() })},
		podDef{name: "refused"},
	)
	reg := prometheus.NewRegistry()
	cfg := f.config()
	cfg.Registerer = reg
	cfg.MaxBodyBytes = 256
	cfg.SampleLimit = 4
	cfg.ScrapeTimeout = 300 * time.Millisecond
	s := newSource(t, cfg)
	s.QueryList().MustRegister(source.QueryTemplate{Name: "ahead", Type: source.QueryTypePromQL, Template: "sum(ahead)"})
	if _, err := refresh(t, s, "ahead"); err != nil {
		t.Fatalf("Refresh: %v", err)
	}

	hs := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer hs.Close()
	resp, err := http.Get(hs.URL)
	if err != nil {
		t.Fatal(err)
	}
	text, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, family := range []string{
		"podscrape_scrape_duration_seconds", "podscrape_scrape_failures_total", "podscrape_samples_scraped_total",
		"podscrape_samples_duplicate_total", "podscrape_history_samples_refused_total", "podscrape_pods_discovered",
		"podscrape_pods_ready", "podscrape_discovery_failures_total", "podscrape_cache_age_seconds",
		"podscrape_history_resets_total",
	} {
		if !bytes.Contains(text, []byte("\n# TYPE "+family+" ")) {
			t.Errorf("the exposition lacks %s:\n%s", family, text)
		}
	}
	for _, moved := range []string{`reason="http_status"`, `reason="parse"`, `reason="body_too_large"`, `reason="sample_limit"`, `reason="timeout"`, `reason="connect"`, `reason="too_far_ahead"`} {
		if !strings.Contains(string(text), moved) || strings.Contains(string(text), moved+`,service="`+f.ns+`/`+f.svc+`"} 0`+"\n") {
			t.Errorf("the exposition's %s did not move: the refresh did not exercise it:\n%s", moved, text)
		}
	}
	cmd := exec.CommandContext(t.Context(), bin, "check", "metrics")
	cmd.Stdin = bytes.NewReader(text)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}
