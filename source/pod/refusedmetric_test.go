package pod

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/podscrape/podscrape/source"
)

// What the history refuses is counted by reason in
// podscrape_history_samples_refused_total, every reason exported from zero: a sample 20
// minutes ahead of its scrape, one older than the retention, a new series past the limit.
func TestHistoryRefusedSamplesCounted(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	body := fmt.Sprintf("ahead 1 %d\nold 2 %d\nplain 3\n",
		t0.Add(20*time.Minute).UnixMilli(), t0.Add(-11*time.Minute).UnixMilli())
	p, cfg := startBodyPod(t, body)
	clk := clocktesting.NewFakeClock(t0)
	reg := prometheus.NewRegistry()
	cfg.Clock, cfg.Registerer, cfg.HistorySeriesLimit = clk, reg, 100
	s, err := NewPodScrapingSource(context.Background(), cp.Client, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	s.QueryList().MustRegister(source.QueryTemplate{Name: "q", Type: source.QueryTypePromQL, Template: `{__name__=~"ahead|old|plain|new.*"}`})

	refused := func() map[string]float64 {
		t.Helper()
		families, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]float64{}
		for _, f := range families {
			if f.GetName() != "podscrape_history_samples_refused_total" {
				continue
			}
			for _, m := range f.GetMetric() {
				for _, l := range m.GetLabel() {
					if l.GetName() == "reason" {
						out[l.GetValue()] = m.GetCounter().GetValue()
					}
				}
			}
		}
		return out
	}
	if got := refused(); len(got) != 3 || got[refusedTooFarAhead] != 0 || got[refusedOutOfOrder] != 0 || got[refusedSeriesLimit] != 0 {
		t.Fatalf("before any refresh: got %v, want the three reasons at zero", got)
	}
	if _, err := s.Refresh(context.Background(), source.RefreshSpec{}); err != nil {
		t.Fatal(err)
	}
	if got := refused(); got[refusedTooFarAhead] != 1 || got[refusedOutOfOrder] != 1 || got[refusedSeriesLimit] != 0 {
		t.Errorf("after a sample 20m ahead and one 11m old: got %v, want too_far_ahead 1, out_of_order 1, series_limit 0", got)
	}
	var many strings.Builder
	for i := range 200 {
		fmt.Fprintf(&many, "new_%d 1\n", i)
	}
	p.set(many.String(), false)
	clk.Step(15 * time.Second)
	if _, err := s.Refresh(context.Background(), source.RefreshSpec{}); err != nil {
		t.Fatal(err)
	}
	if got := refused(); got[refusedSeriesLimit] < 100 || got[refusedTooFarAhead] != 1 || got[refusedOutOfOrder] != 1 {
		t.Errorf("after 200 new series past a limit of 100: got %v, want series_limit at least 100, the others as before", got)
	}
}
