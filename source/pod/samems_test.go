package pod

import (
	"context"
	"testing"
	"time"

	"github.com/podscrape/podscrape/source"
)

// With a fake clock that does not move, a Refresh in the same millisecond as the one
// before answers from its own scrape: a series the pod no longer exposes is gone, and a
// failed pod's up reads 0, as they do once the clock moves.
func TestPromQLSameMillisecondRefreshes(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	p, cfg := startBodyPod(t, "x 1\ny 2\n")
	// The fake clock is never stepped.
	s, _ := fakeClockSource(t, cfg, t0, []source.QueryTemplate{
		{Name: "x", Template: "sum(x)"},
		{Name: "y", Template: "sum(y)"},
		{Name: "up", Template: "sum(up)"},
	})
	refresh := func() map[string]*source.MetricResult {
		t.Helper()
		rs, _ := s.Refresh(context.Background(), source.RefreshSpec{})
		return rs
	}
	if rs := refresh(); rs["x"].FirstValue().Value != 1 || rs["up"].FirstValue().Value != 1 {
		t.Fatalf("first refresh: x %v, up %v; want 1 and 1", rs["x"].Values, rs["up"].Values)
	}
	p.set("y 3\n", false) // x vanishes, y moves
	rs := refresh()
	if len(rs["x"].Values) != 0 {
		t.Errorf("x after it vanished in the same millisecond: got %v, want none (stale)", rs["x"].Values)
	}
	if got := rs["y"]; len(got.Values) != 1 || got.FirstValue().Value != 3 {
		t.Errorf("y in the same millisecond: got %v, want 3 (this scrape's)", got.Values)
	}
	p.set("", true) // the pod fails
	rs = refresh()
	if got := rs["up"]; len(got.Values) != 1 || got.FirstValue().Value != 0 {
		t.Errorf("up of the failed pod in the same millisecond: got %v, want 0", got.Values)
	}
	if len(rs["y"].Values) != 0 {
		t.Errorf("y of the failed pod in the same millisecond: got %v, want none (stale)", rs["y"].Values)
	}
}
