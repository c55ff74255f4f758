package main

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/podscrape/podscrape/cmd/podscrape/internal/render"
)

// brokenPod answers every scrape 500.
func brokenPod() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "broken", http.StatusInternalServerError)
	})
}

// TestQueryJSONTellsStderrWhatTheAnswerLacks: a one-shot query -o json whose answer lacks
// a pod (its scrape failed) or covers less than its window writes the document alone on
// stdout, for jq, and says so on stderr, as scrape -o json warns of a failed pod: a
// script's `| jq -r '.series[0].value'` prints a number, and the terminal or CI log must
// show that it is partial, not leave it to be read as the whole load.
func TestQueryJSONTellsStderrWhatTheAnswerLacks(t *testing.T) {
	t.Parallel()
	svc := newTestService(t, "lacks", exposing(textFormat, "# TYPE x gauge\nx 1\n"), brokenPod())
	for _, tc := range []struct {
		expr string
		want []string // on stderr
	}{
		{"sum(x)", []string{svc.name + "-1", "HTTP status 500"}},
		{"sum(sum_over_time(x[1m]))", []string{svc.name + "-1", "sum_over_time over 1m0s reaches before the history's oldest scrape"}},
	} {
		t.Run(tc.expr, func(t *testing.T) {
			t.Parallel()
			r := podscrape(t, "-n", svc.namespace, "query", tc.expr, svc.name, "--port", port(svc.port), "-o", "json")
			if r.code != exitOK {
				t.Fatalf("exit: got %d, want 0 (some pods answered); stderr:\n%s", r.code, r.stderr)
			}
			var doc struct {
				Series   []any    `json:"series"`
				PodsDown []string `json:"podsDown"`
			}
			if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
				t.Fatalf("stdout is not one JSON document: %v\n%s", err, r.stdout)
			}
			if len(doc.Series) != 1 || len(doc.PodsDown) != 1 {
				t.Fatalf("document: %d series and %d pods down, want 1 and 1:\n%s", len(doc.Series), len(doc.PodsDown), r.stdout)
			}
			mustContain(t, "stderr", r.stderr, tc.want...)
			if strings.Contains(r.stderr, "Error:") {
				t.Errorf("stderr: want warnings, no error:\n%s", r.stderr)
			}
		})
	}
}

// TestQueryEmptyAnswerWithAPodDownIsNotNothingMatched: when the pods that answered hold no
// series of the query and another pod's scrape failed, the answer lacks that pod's
// series, which may be all of them (every pod of one model down): the table must not say
// the query matched nothing, which reads as a mistyped query or no load.
func TestQueryEmptyAnswerWithAPodDownIsNotNothingMatched(t *testing.T) {
	t.Parallel()
	svc := newTestService(t, "onedown", exposing(textFormat, "# TYPE x gauge\nx{model=\"a\"} 1\n"), brokenPod())
	// (A window the history does not cover says "No series yet" instead, pods down or not.)
	for _, expr := range []string{`sum(x{model="b"})`, `x{model="b"} or x{model="c"}`} {
		t.Run(expr, func(t *testing.T) {
			t.Parallel()
			r := podscrape(t, "-n", svc.namespace, "query", expr, svc.name, "--port", port(svc.port))
			if r.code != exitOK {
				t.Fatalf("exit: got %d, want 0; stderr:\n%s", r.code, r.stderr)
			}
			if strings.Contains(r.stdout, "matched nothing") {
				t.Errorf("stdout says the query matched nothing while a pod is down:\n%s", r.stdout)
			}
			mustContain(t, "stdout", r.stdout, "No series from the pods that answered", "Pod down", svc.name+"-1")
		})
	}
}

// TestQueryRateFallbackIsNotALowerBound: a one-shot rate has no value (one scrape), so
// `sum(rate(x[1m])) or vector(0)` answers vector(0)'s 0. That 0 is no lower bound of the
// rate, as the table said, but a value the rate did not give: the line must say the rate
// has no value yet, as it does when nothing else answers.
func TestQueryRateFallbackIsNotALowerBound(t *testing.T) {
	t.Parallel()
	svc := newTestService(t, "fallback", exposing(textFormat, "# TYPE served_total counter\nserved_total 7\n"))
	r := podscrape(t, "-n", svc.namespace, "query", "sum(rate(served_total[1m])) or vector(0)", svc.name, "--port", port(svc.port))
	if r.code != exitOK {
		t.Fatalf("exit: got %d, want 0; stderr:\n%s", r.code, r.stderr)
	}
	if strings.Contains(r.stdout, "lower bound") {
		t.Errorf("stdout calls vector(0)'s 0 a lower bound of the rate:\n%s", r.stdout)
	}
	mustContain(t, "stdout", r.stdout, "Partial window (no value from it yet: the values shown come from the rest of the expression; keep --watch running): rate over 1m0s")
}

// TestQueryJSONSaysItsEmptyAnswerMatchedNothing: the table says "No series: the query
// matched nothing." of an empty answer; -o json said nothing of it, neither in its note
// nor on stderr, so `| jq` read an empty series as it reads no load.
func TestQueryJSONSaysItsEmptyAnswerMatchedNothing(t *testing.T) {
	t.Parallel()
	svc := newTestService(t, "nothing", exposing(textFormat, "# TYPE x gauge\nx 1\n"))
	r := podscrape(t, "-n", svc.namespace, "query", "sum(vllm:num_requests_waiting)", svc.name, "--port", port(svc.port), "-o", "json")
	if r.code != exitOK {
		t.Fatalf("exit: got %d, want 0; stderr:\n%s", r.code, r.stderr)
	}
	var doc struct {
		Note string `json:"note"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("stdout is not one JSON document: %v\n%s", err, r.stdout)
	}
	const want = "No series: the query matched nothing."
	if doc.Note != want {
		t.Errorf("note: got %q, want %q", doc.Note, want)
	}
	mustContain(t, "stderr", r.stderr, want)
}

// TestQueryJSONOfNoReadyPodsSaysSoBesideAFallback: `sum(x) or vector(0)` on a Service
// without a Ready pod answers vector(0)'s 0; the table says "No ready pods behind
// service ..." above it, and -o json must say it on stderr too: its document has a
// series, so no note, and `| jq` read a 0 that is no load of any pod.
func TestQueryJSONOfNoReadyPodsSaysSoBesideAFallback(t *testing.T) {
	t.Parallel()
	empty := unique("fallback-empty")
	if err := cp.CreateService(context.Background(), llmd.Namespace, empty, map[string]string{"app": "nothing"}, 8000); err != nil {
		t.Fatal(err)
	}
	r := podscrape(t, "query", "sum(x) or vector(0)", empty, "--port", "8000", "-o", "json")
	if r.code != exitOK {
		t.Fatalf("exit: got %d, want 0; stderr:\n%s", r.code, r.stderr)
	}
	mustContain(t, "stdout", r.stdout, `"podsScraped": 0`, `"value": "0"`)
	mustContain(t, "stderr", r.stderr, "No ready pods behind service "+llmd.Namespace+"/"+empty+".")
}

// TestQueryWatchJSONTellsStderrWhatTheAnswerLacks: query --watch -o json writes each
// refresh's document alone on stdout, for `jq -c`, and on stderr what a one-shot -o json
// writes there (a pod down, a window the history does not cover), as scrape --watch -o
// json does: the stream's `.series[0].value` is a sum without the pod that failed, and
// the terminal must say so. Before, stderr stayed silent under --watch.
func TestQueryWatchJSONTellsStderrWhatTheAnswerLacks(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	svc := newTestService(t, "wqlacks", exposing(textFormat, "# TYPE x gauge\nx 1\n"), brokenPod())
	down := regexp.MustCompile(`(?m)^(Pod down \(its series are stale, so the answer lacks them\): ` + regexp.QuoteMeta(svc.name+"-1") + `: .*HTTP status 500.*)$`)
	frames, stderr := watchInProcess(t, down, "-n", svc.namespace, "query", "sum(x)", svc.name,
		"--port", port(svc.port), "-o", "json", "--watch", "50ms")
	for range 2 { // the second written after the first's stderr
		select {
		case f := <-frames:
			var doc render.QueryDocument
			if err := json.Unmarshal([]byte(f), &doc); err != nil {
				t.Fatalf("stdout is not one JSON document per refresh: %v\n%s", err, f)
			}
			if len(doc.Series) != 1 || len(doc.PodsDown) != 1 {
				t.Fatalf("document: %d series and %d pods down, want 1 and 1:\n%s", len(doc.Series), len(doc.PodsDown), f)
			}
		case <-ctx.Done():
			t.Fatalf("no frame before the deadline; stderr:\n%s", stderr)
		}
	}
	if !down.MatchString(stderr.String()) {
		t.Fatalf("stderr: want the table's line of the pod down, got:\n%s", stderr)
	}
}
