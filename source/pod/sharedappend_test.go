package pod

import (
	"testing"
	"time"

	"github.com/podscrape/podscrape/source"
)

// TestAppendToASharedResultCopies: a result's Values and Warnings are shared by every
// caller of Refresh and Get, and appending to them is what ordinary code does with a
// slice it reads (append(r.Values, other.Values...), append(r.Warnings, note)). Such an
// append must copy: with room left behind the slice's length, two readers appending to
// the same result wrote into the same shared array, racing, each one's appended element
// overwritten by the other's. The "up" query's Values and a PromQL result's Warnings
// had such room.
func TestAppendToASharedResultCopies(t *testing.T) {
	_, cfg := startBodyPod(t, "b{x=\"1\"} 2\nb{x=\"2\"} 3\nc 4\n")
	s, clk := fakeClockSource(t, cfg, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), []source.QueryTemplate{
		// Two "might not be a counter" infos and a window reaching before the history.
		{Name: "rates", Template: `rate(b[5m]) + on() group_left rate(c[5m])`},
	})
	s.QueryList().MustRegister(source.QueryTemplate{Name: "up", Type: source.QueryTypeMetricName, Template: "up"})
	mustRefresh(t, s)
	clk.Step(time.Second)
	refreshed := mustRefresh(t, s)
	if len(refreshed["rates"].Warnings) == 0 {
		t.Fatalf("rates: got no warnings, want some to append to")
	}
	for _, name := range []string{"up", "rates", AllMetricsQuery} {
		cached := s.Get(name, nil)
		if cached == nil {
			t.Fatalf("Get(%q): nil, want the result just refreshed", name)
		}
		for from, r := range map[string]*source.MetricResult{"Refresh": refreshed[name], "Get": &cached.Result} {
			mine := append(r.Values, source.MetricValue{Value: 1})
			_ = append(r.Values, source.MetricValue{Value: 2}) // another reader's
			if got := mine[len(mine)-1].Value; got != 1 {
				t.Errorf("%s %s: the value appended to Values reads %g after another reader appended to them, want 1", from, name, got)
			}
			notes := append(r.Warnings, "mine")
			_ = append(r.Warnings, "theirs")
			if got := notes[len(notes)-1]; got != "mine" {
				t.Errorf("%s %s: the warning appended to Warnings reads %q after another reader appended to them, want %q", from, name, got, "mine")
			}
		}
	}
}
