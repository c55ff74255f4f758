package pod

import (
	"context"
	"errors"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	"github.com/podscrape/podscrape/source"
)

// A Refresh in which every pod failed returns ErrAllPodsFailed and caches nothing: Get
// keeps serving the last good results, of metric-name and PromQL queries alike, even
// those the failed Refresh still had values for (the pod's up 0; a window over the
// earlier scrape), which the cache alone would take as partial answers.
func TestFailedRefreshKeepsCachedResults(t *testing.T) {
	p, cfg := startBodyPod(t, "m 5\n")
	clk := clocktesting.NewFakeClock(time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC))
	cfg.Clock = clk
	cfg.DefaultTTL = time.Minute
	s, err := NewPodScrapingSource(context.Background(), cp.Client, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	s.QueryList().MustRegister(source.QueryTemplate{Name: "m", Type: source.QueryTypeMetricName, Template: "m"})
	s.QueryList().MustRegister(source.QueryTemplate{Name: "sum_m", Type: source.QueryTypePromQL, Template: "sum(m)"})
	s.QueryList().MustRegister(source.QueryTemplate{Name: "peak", Type: source.QueryTypePromQL, Template: "max_over_time(m[1m])"})
	t0 := clk.Now()
	if _, err := s.Refresh(context.Background(), source.RefreshSpec{}); err != nil {
		t.Fatal(err)
	}
	p.set("", true)
	clk.Step(15 * time.Second)
	if _, err := s.Refresh(context.Background(), source.RefreshSpec{}); !errors.Is(err, ErrAllPodsFailed) {
		t.Fatalf("Refresh with the only pod failing: %v, want ErrAllPodsFailed", err)
	}
	for _, name := range []string{"m", "sum_m", "peak"} {
		got := s.Get(name, nil)
		if got == nil || !got.Result.CollectedAt.Equal(t0) || got.Result.Error != nil || got.Result.Values[0].Value != 5 {
			t.Errorf("Get(%s) after a failed Refresh: %+v, want the earlier result: 5, collected at %s", name, got, t0)
		}
	}
}
