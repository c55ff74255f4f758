package pod

import (
	"errors"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/podscrape/podscrape/podscrapetest"
	"github.com/podscrape/podscrape/source"
)

// A window that starts where the history has no scrape for a long while (the source's
// refreshes failed as a whole, the API server down, or none came) is partial as one
// reaching before the history is: a rate over it estimates from the scrapes after the
// gap, or from one scrape only (no value: not "no load"), and an increase adds up only
// what came after the gap. So is a window of a subquery's step starting in the gap, the
// subquery's earliest window before it. A window that spans the gap with scrapes on both
// sides of it, and a scrape or two missed, are not.
func TestWindowStartingInAGapIsPartial(t *testing.T) {
	const step = 15 * time.Second
	stored := storedNames{names: map[string]struct{}{"x": {}}}
	var since storedSince
	at := t0
	for ; at.Before(t0.Add(10 * time.Minute)); at = at.Add(step) {
		since.record(stored, at, time.Hour)
	}
	missed := at.Add(2 * step) // two refreshes missed: no gap
	since.record(stored, missed, time.Hour)
	at = missed.Add(6 * time.Minute) // six minutes without a stored scrape
	gapEnd := at
	since.record(stored, at, time.Hour)
	cov := coverage{oldest: t0, since: since}

	for _, tc := range []struct {
		expr    string
		after   time.Duration // time since the gap's end
		partial bool          // want a PartialWindowError (Error or, for an estimate, warning)
	}{
		{`rate(x[5m])`, 0, true},
		{`increase(x[5m])`, 0, true},
		{`increase(x[10m])`, 0, false}, // starts before the gap: both ends held
		{`increase(x[1m] offset 2m)`, 0, true},
		{`rate(x[1m])`, 2 * time.Minute, false},
		{`rate(x[5m])`, 4 * time.Minute, true},
		{`rate(x[5m])`, 5 * time.Minute, false},
		// A subquery's steps: a window of a later one starting in the gap, the
		// earliest one before it.
		{`sum_over_time(increase(x[1m])[10m:1m])`, 2 * time.Minute, true},
		{`max_over_time(rate(x[1m])[10m:1m])`, 2 * time.Minute, true},
		{`max_over_time(sum_over_time(increase(x[1m])[2m:1m])[10m:1m])`, 2 * time.Minute, true},
		{`sum_over_time(increase(x[1m])[3m:1m])`, 4 * time.Minute, false},
		{`sum_over_time(increase(x[1m])[20m:1m])`, 7 * time.Minute, true},
	} {
		evalAt := gapEnd.Add(tc.after)
		c := cov
		if tc.after > 0 {
			s := since.clone()
			for t := gapEnd.Add(step); !t.After(evalAt); t = t.Add(step) {
				s.record(stored, t, time.Hour)
			}
			c.since = s
		}
		err, warnings, estimate := c.check("q", tc.expr, evalAt)
		var pw *PartialWindowError
		got := errors.As(err, &pw) || estimate != nil
		if got != tc.partial {
			t.Errorf("%s at %s after the gap: got Error %v, warnings %q; want partial %t", tc.expr, tc.after, err, warnings, tc.partial)
		}
		if pw == nil {
			pw = estimate
		}
		if pw != nil && tc.partial && (pw.Held != tc.after || pw.Gap != 6*time.Minute) {
			t.Errorf("%s at %s after the gap: got Held %s, Gap %s; want %s held after a 6m gap", tc.expr, tc.after, pw.Held, pw.Gap, tc.after)
		}
	}
	err, _, _ := cov.check("q", `increase(x[5m])`, gapEnd)
	if want := `query "q": increase over 5m0s starts in a 6m0s gap between the history's scrapes (0s held after it): partial window`; err == nil || err.Error() != want {
		t.Errorf("got %v, want %q", err, want)
	}
	// The window before the gap is not the window after it: a missed scrape is no gap.
	if err, w, e := cov.check("q", `rate(x[5m])`, missed); err != nil || len(w) > 0 || e != nil {
		t.Errorf("rate over 5m after two missed refreshes: got %v, %q, %v; want none", err, w, e)
	}
}

// After the API server is down for six minutes (every refresh fails before a scrape is
// stored), the first answers of a rate over 5m have no scrape to estimate from but the
// one after the outage: its empty answer says so in its Error, as after a start, and an
// increase over 2m, which adds up only what came after, is partial. Five minutes later
// both are whole again. (A subtest of TestPromQLAnswers.)
func testWindowAfterAnOutage(t *testing.T, env *podscrapetest.Environment) {
	ctx := t.Context()
	svc := newService(t, env, 1, "")
	s, clk := promqlSource(t, env, svc, nil,
		source.QueryTemplate{Name: "rate", Template: `sum(rate(reqs_total[5m]))`},
		source.QueryTemplate{Name: "count", Template: `sum(increase(reqs_total[2m]))`})
	spec := source.RefreshSpec{Queries: []string{"rate", "count"}}
	const step = 15 * time.Second
	n := 0
	refresh := func() (map[string]*source.MetricResult, error) {
		n++
		svc.Pods()[0].SetBody(fmt.Sprintf("# TYPE reqs counter\nreqs_total %d\n", 10*n))
		defer clk.Step(step)
		return s.Refresh(ctx, spec)
	}
	for range 24 { // 6 minutes
		if _, err := refresh(); err != nil {
			t.Fatal(err)
		}
	}
	var obj corev1.Service
	key := client.ObjectKey{Namespace: svc.Namespace, Name: svc.Name}
	if err := env.Client.Get(ctx, key, &obj); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.Delete(ctx, &obj); err != nil {
		t.Fatal(err)
	}
	for range 24 { // 6 minutes of failed refreshes
		if _, err := refresh(); err == nil {
			t.Fatal("Refresh with the Service deleted: got no error")
		}
	}
	obj.ResourceVersion, obj.UID = "", ""
	if err := env.Client.Create(ctx, &obj); err != nil {
		t.Fatal(err)
	}
	for i := 0; i <= 20; i++ {
		results, err := refresh()
		if err != nil {
			t.Fatalf("%d after the outage: %v", i, err)
		}
		rate, count := results["rate"], results["count"]
		switch {
		case i == 0 && (len(rate.Values) != 0 || !errors.Is(rate.Error, ErrPartialWindow)):
			t.Fatalf("first refresh after the outage: rate over 5m: got %v, Error %v; want no value and ErrPartialWindow", rate.Values, rate.Error)
		case i < 8 && !errors.Is(count.Error, ErrPartialWindow):
			t.Fatalf("%d after the outage: increase over 2m: got %v, Error %v; want ErrPartialWindow", i, count.Values, count.Error)
		case i >= 8 && count.Error != nil:
			t.Fatalf("%d after the outage: increase over 2m: got Error %v, want none", i, count.Error)
		case i == 20 && (rate.Error != nil || len(rate.Warnings) > 0 || len(rate.Values) != 1):
			t.Fatalf("5m after the outage: rate over 5m: got %v, %v, %q; want a value, no error, no warning", rate.Values, rate.Error, rate.Warnings)
		}
	}
}

// The appends' times kept for the gap check are those the retention covers, and the one
// before: a source running for days keeps a few dozen, not one per refresh.
func TestGapCheckKeepsTheRetentionsAppends(t *testing.T) {
	var c storedSince
	stored := storedNames{names: map[string]struct{}{"x": {}}}
	for i := range 2000 {
		c.record(stored, t0.Add(time.Duration(i)*15*time.Second), 10*time.Minute)
	}
	if n := len(c.appends); n != 42 {
		t.Errorf("after 2,000 appends 15 s apart under a 10m retention: %d kept, want 42 (41 within it and the one before)", n)
	}
}

// A range whose window holds one scrape or none (refreshes further apart than the
// window: a rate over it estimates nothing, an increase adds up nothing) is partial; an
// instant selector's offset reads the latest sample before it, and is not. A gap just
// after the start, with few scrapes to tell the usual spacing, is one.
func TestWindowHoldingOneScrapeIsPartial(t *testing.T) {
	stored := storedNames{names: map[string]struct{}{"x": {}}}
	var sparse storedSince
	at := t0
	for i := range 6 {
		at = t0.Add(time.Duration(i) * 2 * time.Minute)
		sparse.record(stored, at, time.Hour)
	}
	cov := coverage{oldest: t0, since: sparse}
	for _, tc := range []struct {
		expr     string
		partial  bool // an Error wrapping ErrPartialWindow
		estimate bool // a warning, and the Error of an empty answer
	}{
		{`rate(x[1m])`, true, true}, // nothing to estimate from: an Error too
		{`avg_over_time(x[1m])`, false, true},
		{`increase(x[1m])`, true, false},
		{`increase(x[3m])`, false, false},
		{`rate(x[3m])`, false, false},
		{`increase(x[90s] offset 1m)`, true, false}, // (7m30s, 9m] holds the scrape at 8m alone
		{`increase(x[4m] offset 1m)`, false, false}, // (5m, 9m]: 6m and 8m
		{`x offset 1m`, false, false},
		{`x`, false, false},
	} {
		err, warnings, estimate := cov.check("q", tc.expr, at)
		if errors.Is(err, ErrPartialWindow) != tc.partial || (estimate != nil) != tc.estimate || (len(warnings) > 0) != tc.estimate {
			t.Errorf("%s with a scrape every 2m: got %v, %q, %v; want partial %t, estimate %t", tc.expr, err, warnings, estimate, tc.partial, tc.estimate)
		}
	}

	var early storedSince
	early.record(stored, t0, time.Hour)
	early.record(stored, t0.Add(15*time.Second), time.Hour)
	at = t0.Add(15*time.Second + 6*time.Minute)
	early.record(stored, at, time.Hour)
	if err, _, _ := (coverage{oldest: t0, since: early}).check("q", `increase(x[5m])`, at); !errors.Is(err, ErrPartialWindow) {
		t.Errorf("increase over 5m after a 6m gap two scrapes after the start: got %v, want ErrPartialWindow", err)
	}
}

// sum(rate(x[5m])) or vector(0), the usual way to answer 0 when a series is missing,
// answers 0 on the first refresh, where the rate has one scrape and answers nothing:
// an Error says so, not a warning beside a 0 that reads as no load. With two scrapes the
// rate answers, and the partial window is a warning again.
func TestRateOverOneScrapeOrVectorZeroIsAnError(t *testing.T) {
	stored := storedNames{names: map[string]struct{}{"x": {}}}
	var since storedSince
	since.record(stored, t0, time.Hour)
	cov := coverage{oldest: t0, since: since}
	for _, expr := range []string{`sum(rate(x[5m])) or vector(0)`, `rate(x[5m]) or vector(0)`, `irate(x[1m]) + 0`,
		`max_over_time(rate(x[1m])[5m:1m]) or vector(0)`, `sum(rate(x[1m] offset 1m)) or vector(0)`} {
		if err, _, _ := cov.check("q", expr, t0); !errors.Is(err, ErrPartialWindow) {
			t.Errorf("%s over one scrape: got Error %v, want ErrPartialWindow", expr, err)
		}
	}
	for _, expr := range []string{`avg_over_time(x[5m]) or vector(0)`, `max_over_time(avg_over_time(x[1m])[5m:1m])`} {
		if err, w, _ := cov.check("q", expr, t0); err != nil || len(w) == 0 {
			t.Errorf("%s over one scrape: got Error %v, warnings %q; want a warning only (one sample answers it)", expr, err, w)
		}
	}
	since.record(stored, t0.Add(15*time.Second), time.Hour)
	cov.since = since
	if err, w, e := cov.check("q", `sum(rate(x[5m])) or vector(0)`, t0.Add(15*time.Second)); err != nil || len(w) == 0 || e == nil {
		t.Errorf("two scrapes: got Error %v, warnings %q; want the partial window as a warning", err, w)
	}
}

// A metric stored only since the latest append (a query registered, or a metric needed,
// while the history already held other metrics for minutes) has one scrape in a rate's
// window however many appends the history holds: sum(rate(b[1m])) or vector(0) answers
// 0 there, and that 0 is not "no load". The appends counted are those that stored the
// metric, as they are for a history that has just started.
func TestRateOverOneScrapeOfAMetricStoredSinceIsAnError(t *testing.T) {
	const step = 15 * time.Second
	a := storedNames{names: map[string]struct{}{"a": {}}}
	ab := storedNames{names: map[string]struct{}{"a": {}, "b": {}}}
	var since storedSince
	at := t0
	for ; at.Before(t0.Add(5 * time.Minute)); at = at.Add(step) {
		since.record(a, at, time.Hour)
	}
	since.record(ab, at, time.Hour) // b stored from here on
	cov := coverage{oldest: t0, since: since}
	for _, expr := range []string{`sum(rate(b[1m])) or vector(0)`, `irate(b[5m]) + 0`} {
		if err, _, _ := cov.check("q", expr, at); !errors.Is(err, ErrPartialWindow) {
			t.Errorf("%s over the one scrape that stored b: got Error %v, want ErrPartialWindow", expr, err)
		}
	}
	if err, w, _ := cov.check("q", `sum(rate(a[1m])) or vector(0)`, at); err != nil || len(w) > 0 {
		t.Errorf("a rate of a, stored for 5m: got Error %v, warnings %q; want none", err, w)
	}
	at = at.Add(step)
	since.record(ab, at, time.Hour)
	cov.since = since
	if err, w, e := cov.check("q", `sum(rate(b[1m])) or vector(0)`, at); err != nil || len(w) == 0 || e == nil {
		t.Errorf("two scrapes of b: got Error %v, warnings %q; want the partial window as a warning", err, w)
	}
}

// Through the public API: the pod's scrapes fail for three minutes, then answer again. A
// sum of increases over a subquery's steps whose range holds the outage, its earliest
// window before it, adds up nothing for the steps in the outage and only what came after
// for the first after it: it is partial until no step's window starts in the outage. It
// used to answer that smaller sum with a nil Error, the check looking only at the
// earliest window.
func TestSubqueryStepsInAnOutageArePartial(t *testing.T) {
	p, cfg := startBodyPod(t, "x_total 0\n")
	s, clk := fakeClockSource(t, cfg, t0, []source.QueryTemplate{
		{Name: "steps", Template: "sum_over_time(sum(increase(x_total[1m]))[6m:1m])"},
	})
	const step = 15 * time.Second
	refresh := func(i int, fail bool) map[string]*source.MetricResult {
		clk.SetTime(t0.Add(time.Duration(i) * step))
		p.set(fmt.Sprintf("x_total %d\n", 150*i), fail)
		rs, err := s.Refresh(t.Context(), source.RefreshSpec{})
		if err != nil && !fail {
			t.Fatalf("refresh %d: %v", i, err)
		}
		return rs
	}
	i := 0
	for ; i < 24; i++ { // 6 minutes
		refresh(i, false)
	}
	for ; i < 36; i++ { // 3 minutes of failed scrapes
		refresh(i, true)
	}
	for end := i + 10; i < end; i++ {
		steps := refresh(i, false)["steps"]
		if !errors.Is(steps.Error, ErrPartialWindow) {
			t.Errorf("%s after the outage: got %v, Error %v; want ErrPartialWindow", time.Duration(i-36)*step, steps.Values, steps.Error)
		}
	}
}
