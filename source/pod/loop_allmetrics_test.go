package pod

import (
	"testing"
	"time"

	"github.com/podscrape/podscrape/source"
)

// The background scrape loop refreshes the registered metric-name queries, but not
// AllMetricsQuery: keeping every sample of every pod each interval costs several times
// what the selected metrics do, so all_metrics is left to Refresh.
func TestScrapeLoopLeavesAllMetricsToRefresh(t *testing.T) {
	_, cfg := startBodyPod(t, "m 1\nother 2\n")
	s, _ := runLoop(t, cfg, source.QueryTemplate{Name: "m", Type: source.QueryTypeMetricName, Template: "m"})
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
