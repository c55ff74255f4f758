package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
)

// TestScrapeJSONAndPromSayOnStderrWhyTheyHoldNoSample: the table says why it holds no
// sample (no Ready pod behind the Service, or --metric matching nothing the pods expose);
// -o json and -o prom, read by a program (`| jq`, a textfile collector), write the same
// line on stderr, their output alone on stdout, so that a person or CI log sees that the
// empty answer is no data, not no load, as a failed pod is warned of there.
func TestScrapeJSONAndPromSayOnStderrWhyTheyHoldNoSample(t *testing.T) {
	t.Parallel()
	empty := unique("no-ready")
	if err := cp.CreateService(context.Background(), llmd.Namespace, empty, map[string]string{"app": "nothing"}, 8000); err != nil {
		t.Fatal(err)
	}
	svc := newTestService(t, "unmatched", exposing(textFormat, "# TYPE x gauge\nx 1\n"))
	half := newTestService(t, "half", exposing(textFormat, "# TYPE x gauge\nx 1\n"), brokenPod())
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no ready pods", []string{"scrape", empty, "--port", "8000"}, "No ready pods behind service " + llmd.Namespace + "/" + empty + "."},
		{"no sample matched", []string{"scrape", svc.name, "--port", port(svc.port), "--metric", "vllm:num_requests_waiting"}, "No samples matched."},
		// Not new: the failed pod's warning, as docs/cli.md shows it.
		{"a pod down", []string{"scrape", half.name, "--port", port(half.port)},
			"Warning: service " + llmd.Namespace + "/" + half.name + ": pod " + half.name + "-1: HTTP status 500"},
	} {
		for _, format := range []string{"json", "prom"} {
			t.Run(tc.name+" "+format, func(t *testing.T) {
				t.Parallel()
				r := podscrape(t, append(tc.args, "-o", format)...)
				if r.code != exitOK {
					t.Fatalf("exit: got %d, want 0; stderr:\n%s", r.code, r.stderr)
				}
				if format == "json" && !json.Valid([]byte(r.stdout)) {
					t.Errorf("stdout is not one JSON document:\n%s", r.stdout)
				}
				mustContain(t, "stderr", r.stderr, tc.want)
			})
		}
	}
}

// TestScrapeSaysWhichMetricMatchedNothing: of several --metric, one the pods that
// answered do not expose (a typo, a name an older vLLM does not have, "a,b" written for
// two) silently gave nothing while the others showed samples, exit 0: the table says
// which, and -o json and -o prom say it on stderr.
func TestScrapeSaysWhichMetricMatchedNothing(t *testing.T) {
	t.Parallel()
	svc := newTestService(t, "metrics", exposing(textFormat, "# TYPE x gauge\nx 1\n# TYPE y_total counter\ny_total 2\n"))
	for _, tc := range []struct {
		metrics []string
		want    string
	}{
		{[]string{"x", "vllm:request_success_total"}, `No sample of --metric "vllm:request_success_total": the pods that answered expose none.`},
		{[]string{"x,y_total"}, `No sample of --metric "x,y_total": the pods that answered expose none (repeat --metric for each name).`},
	} {
		for _, format := range []string{"table", "json", "prom"} {
			t.Run(strings.Join(tc.metrics, " ")+" "+format, func(t *testing.T) {
				t.Parallel()
				args := []string{"scrape", svc.name, "--port", port(svc.port), "-o", format}
				for _, m := range tc.metrics {
					args = append(args, "--metric", m)
				}
				r := podscrape(t, args...)
				if r.code != exitOK {
					t.Fatalf("exit: got %d, want 0; stderr:\n%s", r.code, r.stderr)
				}
				out := r.stderr
				if format == "table" {
					out = r.stdout
				}
				mustContain(t, map[bool]string{true: "stdout", false: "stderr"}[format == "table"], out, tc.want)
			})
		}
	}
}
