package pod

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/podscrape/podscrape/source"
)

// A wall clock stepped back by less than a second between two refreshes (NTP steps a
// clock by a few hundred milliseconds): the refresh answers its scrape, as a refresh in
// the same millisecond does, instead of failing every PromQL query with the history's
// "older than the newest append" and the values of the scrape before. A step of a second
// or more starts the history over (TestPromQLClockSteppedBackStartsOver): the refresh
// answers its scrape too.
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
	if y := refresh()["y"]; y.Error != nil || len(y.Values) != 1 || y.FirstValue().Value != 4 {
		t.Errorf("y, clock 2s back: got %v, Error %v; want 4 (this scrape's), no Error", y.Values, y.Error)
	}
	clk.SetTime(t0.Add(30 * time.Second))
	p.set("y 5\n", false)
	if y := refresh()["y"]; y.Error != nil || y.FirstValue().Value != 5 {
		t.Errorf("y, clock past the newest again: got %v, Error %v; want 5", y.Values, y.Error)
	}
}

// The wall clock stepped back by two minutes (NTP stepping a clock that ran ahead), the
// refreshes going on every 15 s of real time: the history starts over at the first
// refresh after the step, so its PromQL results answer from the next refresh on (a rate
// over the windows held, warned; an increase partial until its window is held again),
// and recover by themselves. They used to fail with the history's "older than the
// newest append" for the two minutes, and then to answer, with no Error and no warning, a
// rate adding up the two minutes stepped back over one 15 s spacing (about three times
// the true rate): scaling up on load that is not there. An answer with neither Error nor
// warning is the true one throughout.
func TestPromQLClockSteppedBackStartsOver(t *testing.T) {
	p, cfg := startBodyPod(t, "x_total 0\n")
	s, clk := fakeClockSource(t, cfg, t0, []source.QueryTemplate{
		{Name: "rate", Template: "sum(rate(x_total[1m]))"},
		{Name: "increase", Template: "sum(increase(x_total[2m]))"},
	})
	const perSecond = 10.0 // x's growth per second of real time
	want := map[string]float64{"rate": perSecond, "increase": 120 * perSecond}
	step := 2 * time.Minute
	for i := range 40 {
		real := time.Duration(i) * 15 * time.Second
		wall := t0.Add(real)
		if i >= 12 { // the clock stepped back after the twelfth refresh
			wall = wall.Add(-step)
		}
		clk.SetTime(wall)
		// A counter running long before the history began: at its start, a window
		// reaching less than 1.1 spacings before the first scrape is extrapolated to its
		// start (a counter near zero would not be: Prometheus stops at its zero).
		p.set(fmt.Sprintf("x_total %g\n", 1e4+perSecond*real.Seconds()), false)
		rs := mustRefresh(t, s)
		for name, v := range want {
			r := rs[name]
			switch {
			case r.Error == nil && len(r.Warnings) == 0:
				if len(r.Values) != 1 || math.Abs(r.FirstValue().Value-v) > v/100 {
					t.Errorf("refresh %d (%s real, %s wall): %s = %v with no Error nor warning; want %g",
						i, real, wall.Sub(t0), name, r.Values, v)
				}
			case i >= 14 && name == "rate" && r.Error != nil:
				t.Errorf("refresh %d (%s real): rate failed %v; want an answer from the second refresh after the step", i, real, r.Error)
			case i >= 14+8 && r.Error != nil:
				t.Errorf("refresh %d (%s real): %s failed %v; want an answer once the window is held again", i, real, name, r.Error)
			}
			if i >= 14+8 && (r.Error != nil || len(r.Warnings) > 0) {
				t.Errorf("refresh %d (%s real): %s not recovered: Error %v, warnings %q", i, real, name, r.Error, r.Warnings)
			}
		}
	}
}

// A series exposed with several points of their own timestamps, which the history already
// holds (the source then hands it none of them again), is handed whole to a history
// starting over: the refresh after the clock stepped back answers its newest point, not
// the first one alone.
func TestPromQLClockSteppedBackKeepsOwnTimestamps(t *testing.T) {
	ms := func(d time.Duration) int64 { return t0.Add(d).UnixMilli() }
	_, cfg := startBodyPod(t, fmt.Sprintf("x 1 %d\nx 2 %d\n", ms(-time.Minute), ms(-30*time.Second)))
	s, clk := fakeClockSource(t, cfg, t0, []source.QueryTemplate{{Name: "x", Template: "sum(x)"}})
	for _, at := range []time.Duration{0, 15 * time.Second, -5 * time.Second} { // the last: 20 s back
		clk.SetTime(t0.Add(at))
		if x := mustRefresh(t, s)["x"]; x.Error != nil || len(x.Values) != 1 || x.FirstValue().Value != 2 {
			t.Errorf("x at t0%+v: got %v, Error %v; want 2, the newest point", at, x.Values, x.Error)
		}
	}
}

// The history starting over counts in podscrape_history_resets_total, exported at 0 from
// the start, so that an alert sees the step: the log line alone, and the partial windows
// that follow, which read as after any start, did not say it to an alert. A step of
// less than a second starts nothing over and counts nothing.
func TestPromQLClockSteppedBackIsCounted(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	_, cfg := startBodyPod(t, "x 1\n")
	reg := prometheus.NewRegistry()
	cfg.Registerer = reg
	s, clk := fakeClockSource(t, cfg, t0, []source.QueryTemplate{{Name: "x", Template: "sum(x)"}})
	resets := func() float64 {
		t.Helper()
		return testutil.ToFloat64(s.metrics.resets)
	}
	refresh := func() {
		t.Helper()
		if _, err := s.Refresh(context.Background(), source.RefreshSpec{Queries: []string{"x"}}); err != nil {
			t.Fatalf("refresh at %s: %v", clk.Now(), err)
		}
	}
	if n, err := testutil.GatherAndCount(reg, "podscrape_history_resets_total"); err != nil || n != 1 || resets() != 0 {
		t.Fatalf("before any refresh: %d series of podscrape_history_resets_total (%v), value %v; want one, 0", n, err, resets())
	}
	refresh()
	clk.SetTime(t0.Add(15 * time.Second))
	refresh()
	clk.SetTime(t0.Add(15*time.Second - 300*time.Millisecond))
	refresh()
	if got := resets(); got != 0 {
		t.Errorf("after a step back of 300ms: podscrape_history_resets_total %v, want 0", got)
	}
	clk.SetTime(t0.Add(-time.Minute))
	refresh()
	clk.SetTime(t0.Add(-time.Minute + 15*time.Second))
	refresh()
	if got := resets(); got != 1 {
		t.Errorf("after a step back of a minute: podscrape_history_resets_total %v, want 1", got)
	}
}
