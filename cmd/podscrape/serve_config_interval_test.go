package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestServeConfigTimeoutAboveTheInterval: a Service of --config that sets no interval of
// its own is scraped every --interval, and its timeout above it is refused at start
// naming the file, the timeout key's line, the Service and --interval, as a timeout above
// the Service's own interval is. Before, serve.Config's check refused it naming only
// "Services[1]" and its Go field ("ScrapeTimeout 30s is greater than the scrape interval
// 10s"), neither the line nor the key to change. A Service with an interval of its own is
// not held to --interval: serve starts.
func TestServeConfigTimeoutAboveTheInterval(t *testing.T) {
	dir := t.TempDir()
	own := fmt.Sprintf("services:\n- name: %s\n  port: %d\n  interval: 1m\n  timeout: 30s\n", llmd.VLLMService, llmd.VLLMPort)
	cfg := filepath.Join(dir, "serve.yaml")
	if err := os.WriteFile(cfg, []byte(own+"- name: other\n  port: 8000\n  timeout: 30s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := podscrape(t, "serve", "--config", cfg, "--interval", "10s")
	if r.code != exitUsage || strings.Contains(r.stderr, "Serving") {
		t.Errorf("a Service without interval, timeout 30s, --interval 10s: exit %d, want %d and nothing served; stderr %s", r.code, exitUsage, r.stderr)
	}
	mustContain(t, "a Service without interval, timeout 30s, --interval 10s", r.stderr,
		"--config: config file "+cfg+": line 8: services[1] (other): timeout 30s is greater than the server's interval 10s (--interval)")

	ownOnly := filepath.Join(dir, "own.yaml")
	if err := os.WriteFile(ownOnly, []byte(own), 0o600); err != nil {
		t.Fatal(err)
	}
	waitServeReady(t, startServe(t, "--config", ownOnly, "--interval", "10s"))
}

// TestServeConfigIntervalAboveTheRetention: a Service of --config whose interval plus
// timeout is longer than --retention (without a shorter --max-age) is refused at start
// naming --retention and the value that would do, as SERVICE's --interval is, and as
// the lookback delta's refusal names --lookback-delta. Before, serve.Config's check
// refused it in Go's names ("Services[0] (ns/vllm): Retention 10m0s is shorter than the
// scrape interval 11m0s plus the scrape timeout 5s"), naming no flag to change.
func TestServeConfigIntervalAboveTheRetention(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "serve.yaml")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, "services:\n- name: %s\n  port: %d\n  interval: 11m\n", llmd.VLLMService, llmd.VLLMPort), 0o600); err != nil {
		t.Fatal(err)
	}
	r := podscrape(t, "serve", "--config", cfg, "--lookback-delta", "12m")
	if r.code != exitUsage || strings.Contains(r.stderr, "Serving") {
		t.Errorf("interval 11m, --retention 10m: exit %d, want %d and nothing served; stderr %s", r.code, exitUsage, r.stderr)
	}
	mustContain(t, "interval 11m, --retention 10m", r.stderr,
		"--config "+cfg+": services[0] ("+llmd.Namespace+"/"+llmd.VLLMService+"): --retention 10m0s is shorter than its interval 11m0s plus its timeout 5s: the history would not hold two scrapes, and every rate() and range window would answer 422 (set --retention 11m5s or more")
}
