package pod

import (
	"context"
	"testing"

	"github.com/podscrape/podscrape/source"
)

// TestEmptyLabelSpellsTheSameSeries: m{a="1"} and m{a="1",b=""} are one series to
// Prometheus (an empty value is no label), which keeps the first sample of the scrape.
// The metric-name result keeps both as exposed (docs/library.md); PromQL reads one.
func TestEmptyLabelSpellsTheSameSeries(t *testing.T) {
	_, cfg := startBodyPod(t, "# TYPE m gauge\nm{a=\"1\"} 1\nm{a=\"1\",b=\"\"} 2\n")
	s, err := NewPodScrapingSource(context.Background(), cp.Client, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	s.QueryList().MustRegister(source.QueryTemplate{Name: "sum_m", Type: source.QueryTypePromQL, Template: "sum(m)"})
	res, err := s.Refresh(context.Background(), source.RefreshSpec{Queries: []string{"sum_m"}})
	if err != nil {
		t.Fatal(err)
	}
	if r := res["sum_m"]; r.Error != nil || len(r.Values) != 1 || r.Values[0].Value != 1 {
		t.Errorf("sum(m): %v, Error %v; want 1, the first sample, as Prometheus stores it", r.Values, r.Error)
	}
}
