package pod

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

// An @ modifier pins a window to a time, it does not make it covered: a window pinned
// to end() or start() (both the evaluation time of an instant query, as Grafana writes
// `@ end()`) reads what the same window unpinned reads, and one pinned before the history
// reads nothing at all. Each is partial as the unpinned window is, counted back from the
// pinned time, with its offsets.
func TestPinnedWindowCoverage(t *testing.T) {
	at := t0.Add(10 * time.Minute)
	cov := coverage{oldest: t0, since: storedSince{names: map[string]time.Time{"old": t0, "new": at.Add(-2 * time.Minute)}}}
	sec := func(tm time.Time) string { return fmt.Sprint(tm.Unix()) }
	for _, tc := range []struct {
		expr     string
		partial  time.Duration // the Window of the PartialWindowError; 0 for none
		warnings int
	}{
		{`increase(new[5m] @ end())`, 5 * time.Minute, 0},
		{`increase(new[5m] @ start())`, 5 * time.Minute, 0},
		{`increase(new[1m] @ end())`, 0, 0},
		{`increase(new[1m] @ end() offset 90s)`, 150 * time.Second, 0},
		{`increase(old[5m] @ ` + sec(at.Add(-time.Minute)) + `)`, 0, 0},
		{`increase(old[5m] @ ` + sec(t0.Add(4*time.Minute)) + `)`, 5 * time.Minute, 0},
		{`increase(old[5m] @ 100)`, 5 * time.Minute, 0},
		{`old @ 100`, 1, 0}, // 1: any partial window (an instant selector reads no range)
		// The year 1, Go's zero time: pinned there too, not read as no @.
		{`old @ -62135596800`, 1, 0},
		{`increase(old[5m] @ -62135596800)`, 5 * time.Minute, 0},
		{`old @ ` + sec(at.Add(-time.Minute)), 0, 0},
		{`old offset 5m @ ` + sec(t0.Add(4*time.Minute)), 5 * time.Minute, 0},
		{`rate(new[5m] @ end())`, 0, 1},
		{`sum_over_time(increase(new[1m])[3m:1m] @ end())`, 4 * time.Minute, 0},
		{`sum_over_time(increase(new[1m] @ end())[10m:1m])`, 0, 0}, // ten times the covered increase at end()
		{`sum_over_time((new @ end())[10m:1m])`, 0, 0},
	} {
		err, warnings, _ := cov.check("q", tc.expr, at)
		var pw *PartialWindowError
		switch {
		case tc.partial > 0 && (!errors.As(err, &pw) || !errors.Is(err, ErrPartialWindow)):
			t.Errorf("%s: got %v, want a partial window", tc.expr, err)
		case tc.partial > 1 && pw.Window != tc.partial:
			t.Errorf("%s: got %v, want a partial window of %s", tc.expr, err, tc.partial)
		case tc.partial == 0 && err != nil:
			t.Errorf("%s: got %v, want no error", tc.expr, err)
		case len(warnings) != tc.warnings:
			t.Errorf("%s: got warnings %q, want %d", tc.expr, warnings, tc.warnings)
		}
	}
	err, _, _ := cov.check("q", `increase(old[5m] @ 100)`, at)
	if want := `query "q": increase over 5m0s @ 1970-01-01T00:01:40Z reaches before the history's oldest scrape (10m0s held): partial window`; err == nil || err.Error() != want {
		t.Errorf("a window pinned before the history: got %v, want %q", err, want)
	}
}

// A range or offset written as a duration expression (Prometheus evaluates `[5m*2]` and
// `offset (5m*2)` by default since v3.x) reaches as far back as the duration it comes to.
func TestDurationExpressionWindowCoverage(t *testing.T) {
	at := t0.Add(10 * time.Minute)
	cov := coverage{oldest: t0, since: storedSince{names: map[string]time.Time{"old": t0, "new": at.Add(-2 * time.Minute)}}}
	for _, tc := range []struct {
		expr    string
		partial time.Duration // the Window of the PartialWindowError; 0 for none
	}{
		{`increase(new[5m*2])`, 10 * time.Minute},
		{`increase(new[(5m+5m)])`, 10 * time.Minute},
		{`increase(new[max_of(1m, 3m)])`, 3 * time.Minute},
		{`increase(new[1m*2])`, 0},
		{`increase(new[1m] offset (1m*2))`, 3 * time.Minute},
		{`new offset (1m*5)`, 5 * time.Minute},
		{`old offset (1m*5)`, 0},
		{`sum_over_time(increase(new[1m])[1m*3:1m])`, 4 * time.Minute},
		{`sum_over_time(increase(new[1m])[3m:1m] offset (1m*2))`, 6 * time.Minute},
	} {
		err, _, _ := cov.check("q", tc.expr, at)
		var pw *PartialWindowError
		switch {
		case tc.partial > 0 && (!errors.As(err, &pw) || pw.Window != tc.partial):
			t.Errorf("%s: got %v, want a partial window of %s", tc.expr, err, tc.partial)
		case tc.partial == 0 && err != nil:
			t.Errorf("%s: got %v, want no error", tc.expr, err)
		}
	}
}
