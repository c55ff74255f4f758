package history_test

import (
	"testing"
	"time"

	"github.com/podscrape/podscrape/internal/history"
)

// TestGapAt: a window starts in a gap only between two appends further apart than a
// minute and than three times their usual spacing; not before the first append nor after
// the last.
func TestGapAt(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	every := func(d time.Duration, n int, from time.Time) []time.Time {
		var ts []time.Time
		for i := range n {
			ts = append(ts, from.Add(time.Duration(i)*d))
		}
		return ts
	}
	// 15 s scrapes, a 5-minute outage, 15 s scrapes.
	outage := append(every(15*time.Second, 10, t0), every(15*time.Second, 5, t0.Add(135*time.Second+5*time.Minute))...)
	end := t0.Add(135*time.Second + 5*time.Minute)
	for _, c := range []struct {
		name    string
		appends []time.Time
		from    time.Time
		want    bool
	}{
		{"in the outage", outage, t0.Add(3 * time.Minute), true},
		{"at the gap's first append", outage, t0.Add(135 * time.Second), true},
		{"at the gap's last append", outage, end, false},
		{"before the outage", outage, t0.Add(time.Minute), false},
		{"before the first append", outage, t0.Add(-time.Minute), false},
		{"after the last append", outage, end.Add(time.Hour), false},
		{"a minute is no gap", append(every(15*time.Second, 3, t0), t0.Add(90*time.Second)), t0.Add(time.Minute), false},
		{"a usual spacing of over a minute is no gap", every(2*time.Minute, 3, t0.Add(-4*time.Minute)), t0.Add(-3 * time.Minute), false},
	} {
		after, gap, ok := history.GapAt(c.appends, c.from)
		if ok != c.want {
			t.Errorf("%s: got %v (ended %v, %v), want %v", c.name, ok, after, gap, c.want)
		}
		if ok && (!after.Equal(end) || gap != 5*time.Minute) {
			t.Errorf("%s: got the gap ending %v of %v, want ending %v of 5m0s", c.name, after, gap, end)
		}
	}
}
