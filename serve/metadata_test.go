package serve_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/podscrape/podscrape/serve"
)

// metadataOf asks /api/v1/metadata with params and returns the HELP texts of family.
func metadataOf(t *testing.T, base, family string, params url.Values) []string {
	t.Helper()
	_, r := call(t, http.MethodGet, base, "/api/v1/metadata", params)
	var md map[string][]struct{ Type, Help, Unit string }
	if err := json.Unmarshal(r.Data, &md); err != nil {
		t.Fatal(err)
	}
	var helps []string
	for _, e := range md[family] {
		helps = append(helps, e.Help)
	}
	slices.Sort(helps)
	return helps
}

// Two pods of one Service that disagree on a family's HELP (a rolling upgrade) are both
// listed, as Prometheus lists each target's distinct entry, and limit_per_metric bounds
// the list.
func TestMetadataListsEachPodsDistinctEntry(t *testing.T) {
	svc := newService(t, "vllm", 3, waiting)
	svc.Pods()[0].SetBody("# HELP reqs_total Old help.\n# TYPE reqs_total counter\nreqs_total 1\n")
	svc.Pods()[1].SetBody("# HELP reqs_total New help.\n# TYPE reqs_total counter\nreqs_total 1\n")
	svc.Pods()[2].SetBody("# HELP reqs_total New help.\n# TYPE reqs_total counter\nreqs_total 1\n")
	base := startServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}})
	if got, want := metadataOf(t, base, "reqs_total", nil), []string{"New help.", "Old help."}; !slices.Equal(got, want) {
		t.Errorf("HELP of reqs_total: got %q, want %q", got, want)
	}
	if got := metadataOf(t, base, "reqs_total", url.Values{"limit_per_metric": {"1"}}); len(got) != 1 {
		t.Errorf("HELP of reqs_total with limit_per_metric=1: got %q, want one", got)
	}
}

// A family no pod exposes any more leaves /api/v1/metadata at the 11th scrape without it,
// as Prometheus drops a family's metadata 10 scrapes after its target stopped exposing
// it: kept through a family that comes and goes, not forever.
func TestMetadataOfAFamilyNoPodExposesLeavesAfterTenScrapes(t *testing.T) {
	svc := newService(t, "vllm", 1, "# HELP old_total Old.\n# TYPE old_total counter\nold_total 1\n"+waiting)
	base := startServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}, MaxAge: time.Nanosecond})
	svc.Pods()[0].SetBody(waiting)
	p := svc.Pods()[0]
	for i := range 11 {
		before := p.Requests()
		if code, r := query(t, base, "vllm:num_requests_waiting"); code != http.StatusOK || p.Requests() != before+1 {
			t.Fatalf("query %d: got %d %q after %d scrapes, want 200 after one (MaxAge)", i+1, code, r.Error, p.Requests()-before)
		}
		got := metadataOf(t, base, "old_total", nil)
		if want := i < 10; (len(got) == 1) != want {
			t.Fatalf("after %d scrapes without old_total: its metadata %q, want it listed: %v", i+1, got, want)
		}
	}
}
