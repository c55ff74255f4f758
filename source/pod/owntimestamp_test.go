package pod

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/podscrape/podscrape/source"
)

// A sample exposed with a timestamp of its own is stored at that time, not the scrape's,
// and its series is not marked stale when it vanishes from the next scrape, as in
// Prometheus (honor_timestamps): the PromQL history answers it until the lookback ends.
func TestPromQLExposedTimestampsKept(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	own := t0.Add(-30 * time.Second)
	p, cfg := startBodyPod(t, fmt.Sprintf("stamped 5 %d\nplain 7\n", own.UnixMilli()))
	s, clk := fakeClockSource(t, cfg, t0, []source.QueryTemplate{
		{Name: "stamped_at", Template: "timestamp(stamped)"},
		{Name: "plain_at", Template: "timestamp(plain)"},
		{Name: "stamped", Template: "stamped"},
		{Name: "plain", Template: "plain"},
	})
	rs := mustRefresh(t, s)
	if got := rs["stamped_at"].FirstValue().Value; len(rs["stamped_at"].Values) != 1 || got != float64(own.UnixMilli())/1000 {
		t.Errorf("timestamp(stamped) = %v, want the exposed %v", rs["stamped_at"].Values, float64(own.UnixMilli())/1000)
	}
	if got := rs["plain_at"].FirstValue().Value; len(rs["plain_at"].Values) != 1 || got != float64(t0.Unix()) {
		t.Errorf("timestamp(plain) = %v, want the scrape's %v", rs["plain_at"].Values, t0.Unix())
	}

	// Both vanish: the series without a timestamp is stale at once, the stamped one is not.
	p.set("other 1\n", false)
	clk.Step(15 * time.Second)
	rs = mustRefresh(t, s)
	if len(rs["plain"].Values) != 0 {
		t.Errorf("plain after it vanished = %v, want none (stale)", rs["plain"].Values)
	}
	if got := rs["stamped"]; len(got.Values) != 1 || got.FirstValue().Value != 5 {
		t.Errorf("stamped after it vanished = %v, want 5: a series with its own timestamps is not marked stale", got.Values)
	}
}

// A series of several points of its own timestamps, exposed alike at every scrape: the
// history stores each point once, without an out-of-order error at the next refreshes
// (the points it has are not handed to it again), and a PromQL query of it registered
// after refreshes that did not store it still gets its points.
func TestPromQLSeriesOfSeveralPoints(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	p1, p2 := t0.Add(-40*time.Second), t0.Add(-20*time.Second)
	_, cfg := startBodyPod(t, fmt.Sprintf("pts 1 %d\npts 2 %d\nother 3\n", p1.UnixMilli(), p2.UnixMilli()))
	s, clk := fakeClockSource(t, cfg, t0, []source.QueryTemplate{{Name: "other", Template: "other"}})
	// Two refreshes whose history stores other only.
	mustRefresh(t, s)
	clk.Step(5 * time.Second)
	mustRefresh(t, s)
	s.QueryList().MustRegister(source.QueryTemplate{Name: "points", Type: source.QueryTypePromQL, Template: "count_over_time(pts[2m])"})
	s.QueryList().MustRegister(source.QueryTemplate{Name: "latest", Type: source.QueryTypePromQL, Template: "pts"})
	for i := range 3 {
		clk.Step(5 * time.Second)
		rs := mustRefresh(t, s)
		if got := rs["latest"]; len(got.Values) != 1 || got.FirstValue().Value != 2 || got.Error != nil {
			t.Errorf("refresh %d: pts = %v (Error %v), want its latest point, 2, no error", i, got.Values, got.Error)
		}
		if got := rs["points"]; len(got.Values) != 1 || got.FirstValue().Value != 2 || errors.Is(got.Error, ErrSampleOutOfOrder) {
			t.Errorf("refresh %d: count_over_time = %v (Error %v), want both points, no out-of-order error", i, got.Values, got.Error)
		}
	}
}

// A series of several points the history stores already is not handed its points again
// when the history starts storing another metric (a query registered, or a param naming
// a metric new to a query): the points it holds were forgotten with the needs they were
// kept for, and the next refresh handed them all, which the history refused as out of
// order: an ErrSampleOutOfOrder on every result reading the series, and
// podscrape_history_samples_refused_total{reason="out_of_order"} counting them.
func TestPointsStoredStayStoredWhenAnotherMetricIsStored(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	p1, p2 := t0.Add(-40*time.Second), t0.Add(-20*time.Second)
	_, cfg := startBodyPod(t, fmt.Sprintf("pts 1 %d\npts 2 %d\nother 3\n", p1.UnixMilli(), p2.UnixMilli()))
	s, clk := fakeClockSource(t, cfg, t0, []source.QueryTemplate{{Name: "points", Template: "count_over_time(pts[2m])"}})
	check := func(when string) {
		t.Helper()
		got := mustRefresh(t, s)["points"]
		if len(got.Values) != 1 || got.FirstValue().Value != 2 || errors.Is(got.Error, ErrSampleOutOfOrder) {
			t.Errorf("%s: count_over_time = %v (Error %v), want both points, no out-of-order error", when, got.Values, got.Error)
		}
	}
	check("first refresh")
	clk.Step(5 * time.Second)
	check("second refresh")
	s.QueryList().MustRegister(source.QueryTemplate{Name: "other", Type: source.QueryTypePromQL, Template: "other"})
	for i := range 2 {
		clk.Step(5 * time.Second)
		check(fmt.Sprintf("refresh %d after another metric's query was registered", i+1))
	}
}
