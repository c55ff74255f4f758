package snapshot_test

import (
	"slices"
	"testing"

	"github.com/podscrape/podscrape/cmd/podscrape/internal/snapshot"
	"github.com/podscrape/podscrape/source"
)

// TestBuildKeepsTheResultsWarningsOnce: a refresh that leaves out pods no longer
// scraped (not Ready) says so in every result's Warnings; the Snapshot carries each
// warning once, so that scrape shows it. Before, Build dropped them.
func TestBuildKeepsTheResultsWarningsOnce(t *testing.T) {
	const left = "service ns/svc: 1 pods that answered earlier scrapes are no longer scraped, the answer leaves them out: pod q: not Ready"
	f := snapshot.Filter{Metrics: []string{"m"}}
	q := register(t, f)
	results := map[string]*source.MetricResult{}
	for i, name := range q.Names {
		r := &source.MetricResult{QueryName: name, CollectedAt: collected, Warnings: []string{left}}
		if i == 0 {
			r.Values = []source.MetricValue{mv("m", "p", 1)}
		} else {
			r.Values = []source.MetricValue{status("p", 1, 0.01, 1)[i-1]}
		}
		results[name] = r
	}
	got := snapshot.Build("ns/svc", results, f, q)
	if !slices.Equal(got.Warnings, []string{left}) {
		t.Fatalf("warnings: got %q, want [%q]", got.Warnings, left)
	}
	if none := snapshot.Build("ns/svc", map[string]*source.MetricResult{}, f, q); none.Warnings != nil {
		t.Fatalf("no results: got warnings %q, want none", none.Warnings)
	}
}
