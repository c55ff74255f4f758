//go:build !nodemo

package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/podscrape/podscrape/cmd/podscrape/internal/render"
	"github.com/podscrape/podscrape/cmd/podscrape/internal/snapshot"
	"github.com/podscrape/podscrape/source/pod"
)

// TestDemoOnceJSONSaysOnStderrWhatTheTableWould: demo --once -o json writes what scrape
// -o json writes of each Service (stderrNotes): on stderr a pod that failed while others
// answered, and a metric shown that matched nothing, and, in the document of a Service
// whose every pod failed, the error. Before, demo --once -o json wrote the documents
// alone: a failed pod was only a 0 in a document, a metric missing nothing at all. The
// demo's own pods do not fail (a run of it shows no note), so scrapeOnce is run on
// Services of real loopback pods.
func TestDemoOnceJSONSaysOnStderrWhatTheTableWould(t *testing.T) {
	t.Parallel()
	half := newTestService(t, "demo-half", exposing(textFormat, "# TYPE x gauge\nx 1\n"), brokenPod())
	down := newTestService(t, "demo-down", brokenPod())
	var targets []*target
	for _, s := range []struct {
		svc     *testService
		metrics []string
	}{{half, nil}, {half, []string{"x", "vllm:request_success_total"}}, {down, nil}} {
		tg, err := newTarget(t.Context(), cp.Client, pod.PodScrapingSourceConfig{
			ServiceName: s.svc.name, ServiceNamespace: s.svc.namespace, MetricsPort: s.svc.port,
		}, snapshot.Filter{Metrics: s.metrics})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(tg.close)
		targets = append(targets, tg)
	}
	var stdout, stderr bytes.Buffer
	err := (&demoOptions{}).scrapeOnce(t.Context(), &stdout, &stderr, targets, render.FormatJSON)
	if err == nil || !strings.Contains(err.Error(), down.name) {
		t.Errorf("scrapeOnce: got error %v, want the failure of %s", err, down.name)
	}
	docs := decodeJSON(t, stdout.String())
	var errs []string
	for _, d := range docs {
		errs = append(errs, d.Error)
	}
	if len(docs) != 3 || errs[0] != "" || !strings.Contains(errs[2], "HTTP status 500") {
		t.Errorf("documents: got %d, errors %q; want 3, the third's error saying why its pod failed", len(docs), errs)
	}
	mustContain(t, "stderr", stderr.String(),
		"Warning: service "+half.namespace+"/"+half.name+": pod "+half.name+"-1: HTTP status 500",
		`No sample of --metric "vllm:request_success_total": the pods that answered expose none.`)
	if strings.Contains(stdout.String(), "Warning:") {
		t.Errorf("stdout: got notes among the documents:\n%s", stdout.String())
	}
}
