package pod

import (
	"context"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	"github.com/podscrape/podscrape/source"
)

// The background scrape loop refreshes the registered metric-name queries, but not
// AllMetricsQuery: keeping every sample of every pod each interval costs several times
// what the selected metrics do, so all_metrics is left to Refresh.
func TestScrapeLoopLeavesAllMetricsToRefresh(t *testing.T) {
	_, cfg := startBodyPod(t, "m 1\nother 2\n")
	clk := clocktesting.NewFakeClock(time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC))
	cfg.Clock = clk
	cfg.ScrapeInterval = 15 * time.Second
	s, err := NewPodScrapingSource(context.Background(), cp.Client, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	s.QueryList().MustRegister(source.QueryTemplate{Name: "m", Type: source.QueryTypeMetricName, Template: "m"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Start(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	deadline := time.Now().Add(10 * time.Second)
	for s.Get("m", nil) == nil {
		if time.Now().After(deadline) {
			t.Fatal("the scrape loop did not refresh m within 10s")
		}
		time.Sleep(time.Millisecond) // polling the loop's progress with a deadline
	}
	if got := s.Get(AllMetricsQuery, nil); got != nil {
		t.Fatalf("Get(%s) after the loop's scrape: %d values, want nil: the loop does not scrape every metric", AllMetricsQuery, len(got.Result.Values))
	}
	if got := s.Get("m", nil).Result.Values; len(got) == 0 || got[0].Value != 1 {
		t.Fatalf("Get(m): %v, want m 1 first", got)
	}
}
