package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestServeLookbackDeltaFlag: an --interval longer than the lookback delta (less the
// timeout) is refused at start, and the refusal names --lookback-delta, with the value
// that would do, as the way out, for SERVICE and for a Service of --config; with it
// given, serve starts, and an instant query at a time between two scrapes (6m after the
// only one, of a 10m interval, past Prometheus' 5m) answers the newest sample. Without
// the flag an operator scraping every 10m could not start serve at all.
func TestServeLookbackDeltaFlag(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "serve.yaml")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, "services:\n- name: %s\n  port: %d\n  interval: 10m\n", llmd.VLLMService, llmd.VLLMPort), 0o600); err != nil {
		t.Fatal(err)
	}
	vllm := []string{"serve", llmd.VLLMService, "--port", port(llmd.VLLMPort)}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{append(vllm, "--interval", "10m", "--retention", "20m"),
			"--interval 10m0s plus --timeout 5s is longer than the 5m0s lookback delta of instant selectors (--lookback-delta): an instant query between two scrapes would find no sample and answer empty (set --lookback-delta 10m5s or more"},
		{append(vllm, "--interval", "10m", "--retention", "20m", "--lookback-delta", "10m"),
			"--interval 10m0s plus --timeout 5s is longer than the 10m0s lookback delta of instant selectors (--lookback-delta)"},
		{append(vllm, "--interval", "10m", "--retention", "20m", "--max-age", "8m", "--lookback-delta", "6m"),
			"--max-age 8m0s plus --timeout 5s is longer than the 6m0s lookback delta"},
		{[]string{"serve", "--config", cfg, "--retention", "20m"},
			"--config " + cfg + ": services[0] (" + llmd.Namespace + "/" + llmd.VLLMService + "): its interval 10m0s plus its timeout 5s is longer than the 5m0s lookback delta of instant selectors (--lookback-delta): an instant query between two scrapes would find no sample and answer empty (set --lookback-delta 10m5s or more"},
		{append(vllm, "--lookback-delta", "0s"), "--lookback-delta must be positive, got 0s"},
		{append(vllm, "--lookback-delta", "-1m"), "--lookback-delta must be positive, got -1m0s"},
	} {
		r := podscrape(t, tc.args...)
		if r.code != exitUsage || strings.Contains(r.stderr, "Serving") {
			t.Errorf("%v: exit %d, want %d and nothing served; stderr %s", tc.args, r.code, exitUsage, r.stderr)
		}
		mustContain(t, fmt.Sprint(tc.args), r.stderr, tc.want)
	}

	for _, args := range [][]string{
		{llmd.VLLMService, "--port", port(llmd.VLLMPort)},
		{"--config", cfg},
	} {
		base := startServe(t, append(args, "--interval", "10m", "--retention", "20m", "--lookback-delta", "15m")...)
		waitServeReady(t, base)
		at := time.Now().Add(6 * time.Minute)
		q := url.Values{"query": {"count(vllm:num_requests_waiting)"}, "time": {strconv.FormatInt(at.Unix(), 10)}}
		code, e := getJSON(t, base+"/api/v1/query?"+q.Encode())
		var d struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		}
		if err := json.Unmarshal(e.Data, &d); err != nil {
			t.Fatalf("%v: %d %s: %v", args, code, e.Data, err)
		}
		if code != http.StatusOK || len(d.Result) != 1 || d.Result[0].Value[1] != strconv.Itoa(len(llmd.VLLMPods)) {
			t.Errorf("%v: count(vllm:num_requests_waiting) 6m after the one scrape, with --lookback-delta 15m: %d %s %q, want the %d pods' samples",
				args, code, e.Data, e.Error, len(llmd.VLLMPods))
		}
	}
}
