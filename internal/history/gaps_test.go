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

// TestGapAtThreeTimesTheSpacing: a spacing of exactly three times the usual one is not a
// gap, as a spacing of exactly MinGap is not: 30 s scrapes and one 90 s apart (two missed)
// is no outage.
func TestGapAtThreeTimesTheSpacing(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	appends := []time.Time{t0, t0.Add(30 * time.Second), t0.Add(60 * time.Second), t0.Add(150 * time.Second), t0.Add(180 * time.Second)}
	if after, gap, ok := history.GapAt(appends, t0.Add(90*time.Second)); ok {
		t.Errorf("GapAt in a 90s spacing of 30s scrapes: a gap ending %v of %v; want none", after, gap)
	}
	appends[3] = t0.Add(151 * time.Second)
	if _, gap, ok := history.GapAt(appends, t0.Add(90*time.Second)); !ok || gap != 91*time.Second {
		t.Errorf("GapAt in a 91s spacing of 30s scrapes: %v, %v; want a gap of 1m31s", gap, ok)
	}
}

// TestGapInSteps: a subquery's steps each read a window of their own; the gap check finds
// the outage one of them starts in (and reads only what came after it), not only one the
// whole expression's window starts in. A window starting at the append that ended the
// outage, or before the oldest sample held, is not in it.
func TestGapInSteps(t *testing.T) {
	t0 := time.Unix(60*28_000_000, 0) // a multiple of a minute: subquery steps fall on it
	s := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Second) }
	var outage []time.Time // 15 s scrapes, an outage from 135 s to 435 s, 15 s scrapes to 600 s
	for n := 0; n <= 600; n += 15 {
		if n <= 135 || n >= 435 {
			outage = append(outage, s(n))
		}
	}
	window := func(expr string) history.Window {
		t.Helper()
		e, err := history.Parse(expr)
		if err != nil {
			t.Fatal(err)
		}
		ws := history.Windows(e)
		return ws[len(ws)-1] // the rate inside the subquery
	}
	every1m := window(`max_over_time(rate(x[1m])[3m:1m])`)
	every5s := window(`max_over_time(rate(x[1m])[3m:5s])`)
	// Its rate windows end a minute before the steps: (s-2m, s-1m].
	offset1m := window(`max_over_time(rate(x[1m] offset 1m)[3m:1m])`)
	for _, c := range []struct {
		name      string
		w         history.Window
		appends   []time.Time
		at, start time.Time
		want      bool
	}{
		// Steps 480, 540 and 600 s: the first's rate window starts at 420 s, in the outage.
		{"a step's window in the outage", every1m, outage, s(600), t0, true},
		// Steps 540, 600, 660 s: their windows start at 480 s and later.
		{"every step's window after it", every1m, outage, s(660), t0, false},
		// Steps 490 s to 665 s by 5 s: the first's window starts at 430 s.
		{"a window starting 5s before the outage ended", every5s, outage, s(665), t0, true},
		// Steps 495 s to 670 s: the first's window starts at 435 s, the append that ended it.
		{"a window starting at the append that ended it", every5s, outage, s(670), t0, false},
		// Steps 20 s to 195 s: the last's window starts at 135 s, the last append before it.
		{"a window starting at the last append before it", every5s, outage, s(195), t0, true},
		{"every window starting before it", every5s, outage, s(190), t0, false},
		// Steps 480, 540 and 600 s: windows from 360 s and 420 s, in the outage.
		{"an offset window in the outage", offset1m, outage, s(600), t0, true},
		// Steps 120, 180 and 240 s: windows from 0, 60 s and 120 s, before it.
		{"offset windows starting before it", offset1m, outage, s(240), t0, false},
		// The retention dropped what was before 450 s: the outage is before the history.
		{"an outage before the oldest sample held", every1m, outage, s(600), s(450), false},
		// Three appends are enough to tell a usual spacing (15 s) from an outage.
		{"three appends", every1m, []time.Time{t0, s(15), s(315)}, s(300), t0, true},
		{"two appends", every1m, []time.Time{t0, s(315)}, s(300), t0, false},
	} {
		after, gap, ok := c.w.GapInSteps(c.appends, c.at, c.start)
		if ok != c.want {
			t.Errorf("%s: GapInSteps(%s at t0+%s) = %v (ending t0+%s, %s), want %v",
				c.name, c.w.Text, c.at.Sub(t0), ok, after.Sub(t0), gap, c.want)
			continue
		}
		if ok && c.name != "three appends" && (!after.Equal(s(435)) || gap != 5*time.Minute) {
			t.Errorf("%s: the gap ending t0+%s of %s; want ending t0+7m15s of 5m0s", c.name, after.Sub(t0), gap)
		}
	}
}

// TestGapInStepsTheLatest: of two outages the steps' windows start in, the gap check names
// the later one; and a spacing of exactly MinGap, or of three times the usual spacing, is
// none.
func TestGapInStepsTheLatest(t *testing.T) {
	t0 := time.Unix(60*28_000_000, 0)
	s := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Second) }
	e, err := history.Parse(`max_over_time(rate(x[1m])[10m:1m])`)
	if err != nil {
		t.Fatal(err)
	}
	ws := history.Windows(e)
	w := ws[len(ws)-1]
	// 15 s scrapes, outages from 60 s to 240 s and from 300 s to 480 s, scrapes to 600 s.
	var two []time.Time
	for n := 0; n <= 600; n += 15 {
		if n <= 60 || n >= 240 && n <= 300 || n >= 480 {
			two = append(two, s(n))
		}
	}
	if after, gap, ok := w.GapInSteps(two, s(600), t0); !ok || !after.Equal(s(480)) || gap != 3*time.Minute {
		t.Errorf("two outages: GapInSteps = t0+%s, %s, %v; want the later one, ending t0+8m0s, of 3m0s", after.Sub(t0), gap, ok)
	}
	// 15 s scrapes with a spacing of 60 s (MinGap); 30 s scrapes with one of 90 s (three
	// times the usual).
	var minGap, thrice []time.Time
	for n := 0; n <= 600; n += 15 {
		if n <= 285 || n >= 345 {
			minGap = append(minGap, s(n))
		}
		if n%30 == 0 && (n <= 90 || n >= 180) {
			thrice = append(thrice, s(n))
		}
	}
	for name, appends := range map[string][]time.Time{"a 60s spacing of 15s scrapes": minGap, "a 90s spacing of 30s scrapes": thrice} {
		if after, gap, ok := w.GapInSteps(appends, s(600), t0); ok {
			t.Errorf("%s: a gap ending t0+%s of %s; want none", name, after.Sub(t0), gap)
		}
	}
}

// TestReachesBefore: a window Prometheus extrapolates to its start (a rate, an increase
// or a delta) starting before the oldest scrape by less than 1.1 times the scrapes'
// average spacing (at most the limit) is whole; by that much or more, or over one
// scrape, it reaches before the history. Any other window starting before the oldest
// scrape at all reaches before it.
func TestReachesBefore(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	var every15s []time.Time
	for i := range 40 {
		every15s = append(every15s, t0.Add(time.Duration(i)*15*time.Second))
	}
	last := every15s[39]
	for _, c := range []struct {
		name    string
		appends []time.Time
		since   time.Time
		from    time.Time
		last    time.Time
		limit   time.Duration
		want    bool
	}{
		{"within the history", every15s, t0, t0.Add(time.Second), last, 0, false},
		{"at the oldest scrape", every15s, t0, t0, last, 0, false},
		{"one spacing before", every15s, t0, t0.Add(-15 * time.Second), last, 0, false},
		{"just under 1.1 spacings before", every15s, t0, t0.Add(-16499 * time.Millisecond), last, 0, false},
		{"1.1 spacings before", every15s, t0, t0.Add(-16500 * time.Millisecond), last, 0, true},
		{"two spacings before", every15s, t0, t0.Add(-30 * time.Second), last, 0, true},
		{"one scrape", every15s[:1], t0, t0.Add(-time.Millisecond), t0, 0, true},
		{"one scrape up to the window's end", every15s, t0, t0.Add(-time.Millisecond), t0.Add(10 * time.Second), 0, true},
		{"past the limit", every15s, t0, t0.Add(-15 * time.Second), last, 10 * time.Second, true},
		{"within the limit", every15s, t0, t0.Add(-15 * time.Second), last, 15 * time.Second, false},
		// A metric stored from the 20th append on: the appends before do not count.
		{"since a later append", append([]time.Time{t0.Add(-time.Hour)}, every15s...), t0, t0.Add(-15 * time.Second), last, 0, false},
		{"spacing of the appends since", every15s, every15s[38], every15s[38].Add(-15 * time.Second), last, 0, false},
	} {
		if got := history.ReachesBefore(c.appends, c.since, c.from, c.last, c.limit, true); got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
		// Not extrapolated, a window starting before the oldest scrape at all reaches
		// before it: a full history may hold a sample there.
		want := c.from.Before(c.since)
		if got := history.ReachesBefore(c.appends, c.since, c.from, c.last, c.limit, false); got != want {
			t.Errorf("%s, not extrapolated: got %v, want %v", c.name, got, want)
		}
	}
}
