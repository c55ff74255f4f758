package pod

import (
	"context"
	"testing"
	"time"

	"github.com/podscrape/podscrape/source"
)

// A wall clock stepped back by less than a second between two refreshes (NTP steps a
// clock by a few hundred milliseconds): the refresh answers its scrape, as a refresh in
// the same millisecond does, instead of failing every PromQL query with the history's
// "older than the newest append" and the values of the scrape before. A step of a second
// or more fails them, naming why, until the clock passes the newest scrape again.
func TestPromQLClockSteppedBack(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	p, cfg := startBodyPod(t, "x 1\ny 2\n")
	s, clk := fakeClockSource(t, cfg, t0, []source.QueryTemplate{
		{Name: "x", Template: "sum(x)"},
		{Name: "y", Template: "sum(y)"},
	})
	refresh := func() map[string]*source.MetricResult {
		t.Helper()
		rs, err := s.Refresh(context.Background(), source.RefreshSpec{Queries: []string{"x", "y"}})
		if err != nil {
			t.Fatalf("refresh at %s: %v", clk.Now(), err)
		}
		return rs
	}
	refresh()
	clk.SetTime(t0.Add(15 * time.Second))
	refresh()
	clk.SetTime(t0.Add(15*time.Second - 300*time.Millisecond))
	p.set("y 3\n", false) // x vanishes, y moves
	rs := refresh()
	if x := rs["x"]; x.Error != nil || len(x.Values) != 0 {
		t.Errorf("x vanished, clock 300ms back: got %v, Error %v; want none (stale), no Error", x.Values, x.Error)
	}
	if y := rs["y"]; y.Error != nil || len(y.Values) != 1 || y.FirstValue().Value != 3 {
		t.Errorf("y, clock 300ms back: got %v, Error %v; want 3 (this scrape's), no Error", y.Values, y.Error)
	}
	clk.SetTime(t0.Add(15*time.Second - 2*time.Second))
	p.set("y 4\n", false)
	if y := refresh()["y"]; y.Error == nil {
		t.Errorf("y, clock 2s back: got %v and no Error; want the history's refusal", y.Values)
	}
	clk.SetTime(t0.Add(30 * time.Second))
	if y := refresh()["y"]; y.Error != nil || y.FirstValue().Value != 4 {
		t.Errorf("y, clock past the newest again: got %v, Error %v; want 4", y.Values, y.Error)
	}
}
