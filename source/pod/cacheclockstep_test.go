package pod

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/podscrape/podscrape/source"
)

// The source's clock (a fake one) steps back a minute between two refreshes, as NTP steps
// a wall clock that ran ahead: Get serves the refresh after the step's answer, not the
// one before it, and nothing once that answer's TTL ran out on the clock as it now reads.
// Before, the cache refused the later refresh's results as older (their CollectedAt
// before the stored one's) and Get served the value from before the step for the TTL
// plus the step: still 1 sixty seconds after a refresh answered 2 (TTL 30 s).
func TestGetAfterTheClockStepsBack(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	p, cfg := startBodyPod(t, "x 1\n")
	cfg.DefaultTTL = 30 * time.Second
	reg := prometheus.NewRegistry()
	cfg.Registerer = reg
	s, clk := fakeClockSource(t, cfg, t0, []source.QueryTemplate{{Name: "x", Template: "sum(x)"}})
	refresh := func() float64 {
		t.Helper()
		rs, err := s.Refresh(context.Background(), source.RefreshSpec{Queries: []string{"x"}})
		if err != nil || rs["x"].Error != nil || len(rs["x"].Values) != 1 {
			t.Fatalf("refresh at %s: %v, %+v", clk.Now(), err, rs["x"])
		}
		return rs["x"].FirstValue().Value
	}
	get := func() any {
		if v := s.Get("x", nil); v != nil {
			return v.Result.FirstValue().Value
		}
		return nil
	}
	if got := refresh(); got != 1 || get() != 1.0 {
		t.Fatalf("first refresh: %v, Get %v; want 1 and 1", got, get())
	}
	clk.SetTime(t0.Add(-time.Minute))
	// The refresh stored its results "in the future": the age is not negative.
	if age := gaugeValue(t, reg, "podscrape_cache_age_seconds"); age != 0 {
		t.Errorf("podscrape_cache_age_seconds after the clock stepped back below the last store: %g, want 0", age)
	}
	p.set("x 2\n", false)
	if got := refresh(); got != 2 {
		t.Fatalf("refresh after the step: %v, want 2", got)
	}
	if got := get(); got != 2.0 {
		t.Errorf("Get after the refresh after the step answered 2: %v, want 2", got)
	}
	clk.SetTime(t0.Add(-time.Minute + time.Minute))
	if got := get(); got != nil {
		t.Errorf("Get 60 s after the refresh that answered 2 (TTL 30 s): %v, want nil", got)
	}
}
