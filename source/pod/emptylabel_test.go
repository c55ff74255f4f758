package pod

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/podscrape/podscrape/internal/history"
	"github.com/podscrape/podscrape/internal/synthetic"
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

// TestScrapeSeriesDropsEmptyLabels: ScrapeSeries labels a series as Prometheus'
// labels.Builder does: an exposed label with an empty value is no label, so m{a="1"} and
// m{a="1",b=""} are one label set, whose first sample a store keeps (both samples are
// returned, whichever spelling comes first), and an empty exposed label is neither renamed
// exported_<name> when a target label takes its name nor makes exported_<name> taken. A
// history fed the samples, as serve's is, answers as Prometheus does: sum(m) 1, sum(r) 3.
func TestScrapeSeriesDropsEmptyLabels(t *testing.T) {
	_, cfg := startBodyPod(t, "# TYPE m gauge\nm{a=\"1\"} 1\nm{a=\"1\",b=\"\"} 2\nr{a=\"1\",b=\"\"} 3\nr{a=\"1\"} 4\n"+
		"n{pod=\"\",c=\"\",exported_instance=\"\",instance=\"x\"} 5\n")
	reg := prometheus.NewRegistry()
	cfg.Registerer = reg
	s, err := NewPodScrapingSource(context.Background(), cp.Client, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	// Both samples of m{a="1"} and of r{a="1"}: a store keeps the first of each.
	want := []string{`{__name__="m", a="1"} 1`, `{__name__="m", a="1"} 2`, `{__name__="r", a="1"} 3`, `{__name__="r", a="1"} 4`, `{__name__="n", exported_instance="x"} 5`}
	for scrape := 1; scrape <= 2; scrape++ { // the second from the pod's memo and series cache
		pods, err := s.ScrapeSeries(context.Background())
		if err != nil || len(pods) != 1 || !pods[0].Up {
			t.Fatalf("scrape %d: ScrapeSeries: %+v, %v", scrape, pods, err)
		}
		ps := pods[0]
		var got []string
		for _, smp := range ps.Samples[:len(ps.Samples)-len(synthetic.Names)] {
			b := labels.NewBuilder(smp.Labels)
			ps.Target.Range(func(l labels.Label) { b.Del(l.Name) })
			got = append(got, fmt.Sprintf("%s %v", b.Labels(), smp.V))
		}
		if !slices.Equal(got, want) {
			t.Errorf("scrape %d: got %q, want %q (target labels aside)", scrape, got, want)
		}
		if scrape == 2 {
			checkHistoryAnswers(t, ps, map[string]float64{"sum(m)": 1, "count(m)": 1, "sum(r)": 3})
		}
	}
}

// checkHistoryAnswers appends one pod's samples to a history, as serve does, and checks
// what each expression answers.
func checkHistoryAnswers(t *testing.T, ps PodSeries, want map[string]float64) {
	t.Helper()
	h, err := history.New(history.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close() })
	samples := make([]history.Sample, len(ps.Samples))
	for i, smp := range ps.Samples {
		samples[i] = history.Sample(smp)
	}
	ctx := context.Background()
	if _, err := h.Append(ctx, ps.ScrapedAt, []history.Scrape{{Target: ps.Pod, Time: ps.ScrapedAt, Samples: samples}}); err != nil {
		t.Fatal(err)
	}
	for expr, v := range want {
		res, err := h.Query(ctx, expr, ps.ScrapedAt)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Points) != 1 || res.Points[0].V != v {
			t.Errorf("%s = %v, want %v", expr, res.Points, v)
		}
	}
}
