package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/podscrape/podscrape/cmd/podscrape/internal/render"
)

// TestQueryEvaluatesPromQLOnPods runs podscrape query through the binary on the demo's
// vLLM pods: an aggregation by pod, params filled and escaped, and json.
func TestQueryEvaluatesPromQLOnPods(t *testing.T) {
	t.Parallel()
	r := runBinary(t, "query", `max by (pod) (vllm:num_requests_waiting{model_name="{{.modelID}}"})`, llmd.VLLMService,
		"--port", port(llmd.VLLMPort), "--param", "modelID=Qwen/Qwen3-0.6B", "-o", "json")
	if r.code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", r.code, r.stderr)
	}
	var doc render.QueryDocument
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	var pods []string
	for _, s := range doc.Series {
		pods = append(pods, s.Labels["pod"])
	}
	if got, want := strings.Join(pods, ","), strings.Join(llmd.VLLMPods, ","); got != want {
		t.Errorf("series pods = %s, want the Ready vLLM pods %s", got, want)
	}
	if !strings.Contains(doc.Query, `model_name="Qwen/Qwen3-0.6B"`) {
		t.Errorf("query = %s, want the param filled in", doc.Query)
	}
}

func TestQueryRefusesBadInput(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"not PromQL", []string{"query", "sum(", llmd.VLLMService, "--port", "8000"}, "EXPR is not PromQL"},
		{"missing param", []string{"query", `x{a="{{.a}}"}`, llmd.VLLMService, "--port", "8000"}, `parameter "a" is missing`},
		{"bad param", []string{"query", "x", llmd.VLLMService, "--port", "8000", "--param", "novalue"}, `--param "novalue" is not NAME=VALUE`},
		{"one argument", []string{"query", "x"}, "query takes the EXPR and SERVICE arguments"},
		{"prom output", []string{"query", "x", llmd.VLLMService, "--port", "8000", "-o", "prom"}, "--output must be table or json"},
		{"token file without a server", []string{"query", "x", llmd.VLLMService, "--port", "8000", "--prometheus-token-file", "/dev/null"}, "--prometheus-token-file needs --prometheus"},
		{"prometheus and a service", []string{"query", "x", llmd.VLLMService, "--prometheus", "http://127.0.0.1:9"}, "query with --prometheus takes the EXPR argument alone"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := runBinary(t, tc.args...)
			if r.code != exitUsage {
				t.Fatalf("exit %d, want %d; stderr:\n%s", r.code, exitUsage, r.stderr)
			}
			mustContain(t, "stderr", r.stderr, tc.want)
		})
	}
}

// TestQueryWatchCoversRateWindow: one scrape gives rate() nothing, and query says why;
// with --watch the second refresh has a rate, and a trend.
func TestQueryWatchCoversRateWindow(t *testing.T) {
	t.Parallel()
	var n atomic.Int64
	counter := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", textFormat)
		fmt.Fprintf(w, "# TYPE served_total counter\nserved_total %d\n", 100*n.Add(1))
	})
	svc := newTestService(t, "rate", counter)
	args := []string{"-n", svc.namespace, "query", "rate(served_total[1m])", svc.name, "--port", port(svc.port)}

	r := runBinary(t, args...)
	if r.code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", r.code, r.stderr)
	}
	mustContain(t, "stdout", r.stdout, "No series yet: the query reads 1m0s back")
	mustContain(t, "stdout", r.stdout, "Partial window (keep --watch running): rate over 1m0s reaches before the history's oldest scrape (0s held)")

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := binaryCommand(ctx, append(args, "--watch", "300ms")...)
	var stderr bytes.Buffer
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	ch := frames(stdout, "Every 300ms")
	nextFrame(t, ctx, ch, &stderr) // the first refresh: one sample
	for {
		f := nextFrame(t, ctx, ch, &stderr)
		if strings.Contains(f, "TREND") {
			mustContain(t, "frame", f, `pod="`+svc.name+`-0"}`)
			return
		}
		if !strings.Contains(f, "No series yet") && !strings.Contains(f, "VALUE") {
			t.Fatalf("frame: want a note or a table, got:\n%s", f)
		}
	}
}
