package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/podscrape/podscrape/cmd/podscrape/internal/render"
)

// TestQueryOnAServiceWithoutReadyPodsSaysSo: a query on a Service with no Ready pods says
// so, as scrape does, instead of sending the operator to the metric name ("matched
// nothing") or the window ("No series yet"); json carries podsScraped 0, and the number
// of pods scraped when there are some.
func TestQueryOnAServiceWithoutReadyPodsSaysSo(t *testing.T) {
	t.Parallel()
	name := unique("nopods")
	if err := cp.CreateService(context.Background(), llmd.Namespace, name, map[string]string{"app": name}, 8000); err != nil {
		t.Fatal(err)
	}
	want := "No ready pods behind service " + llmd.Namespace + "/" + name + "."
	for _, expr := range []string{"sum(vllm:num_requests_waiting)", "sum(rate(vllm:request_success_total[1m]))"} {
		t.Run(expr, func(t *testing.T) {
			t.Parallel()
			r := podscrape(t, "query", expr, name, "--port", "8000")
			if r.code != exitOK {
				t.Fatalf("exit: got %d, want 0 (as scrape's); stderr:\n%s", r.code, r.stderr)
			}
			mustContain(t, "stdout", r.stdout, "\n"+want+"\n")
			if strings.Contains(r.stdout, "No series") {
				t.Errorf("stdout: want no \"No series\" note, got:\n%s", r.stdout)
			}

			r = podscrape(t, "query", expr, name, "--port", "8000", "-o", "json")
			if r.code != exitOK {
				t.Fatalf("json: exit %d, want 0; stderr:\n%s", r.code, r.stderr)
			}
			doc := decodeQuery(t, r.stdout)
			if doc.PodsScraped == nil || *doc.PodsScraped != 0 || doc.Note != want {
				t.Errorf("json: got podsScraped %v and note %q, want 0 and %q", doc.PodsScraped, doc.Note, want)
			}
		})
	}

	r := podscrape(t, "query", "sum(vllm:num_requests_waiting)", llmd.VLLMService, "--port", port(llmd.VLLMPort), "-o", "json")
	if doc := decodeQuery(t, r.stdout); doc.PodsScraped == nil || *doc.PodsScraped != len(llmd.VLLMPods) {
		t.Errorf("json of %s: got podsScraped %v, want %d", llmd.VLLMService, doc.PodsScraped, len(llmd.VLLMPods))
	}
}

// decodeQuery decodes query's one json document.
func decodeQuery(t *testing.T, s string) render.QueryDocument {
	t.Helper()
	var doc render.QueryDocument
	if err := json.Unmarshal([]byte(s), &doc); err != nil {
		t.Fatalf("query -o json: %v\n%s", err, s)
	}
	return doc
}
