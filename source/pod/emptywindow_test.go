package pod

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/podscrape/podscrape/internal/history"
)

// Wherever a function that needs two samples (rate, irate, deriv, ...) answers nothing
// because its window holds one scrape or none, whatever the expression answers instead
// (or vector(0): 0) is not an estimate from it: the coverage check's Error says so, at
// every refresh from the first, for a window moved by an offset or evaluated in a
// subquery as for a plain one. Checked against the engine's own answers over a history
// scraped every 15 s, every 25 s (steps of subqueries falling between scrapes), and every
// 70 s (refreshes further apart than the windows: a subquery's windows then hold one
// scrape each, however many its steps span); and never an Error where the rate answers.
func TestEmptyRateWindowIsNeverAnAnswer(t *testing.T) {
	for _, step := range []time.Duration{15 * time.Second, 25 * time.Second, 50 * time.Second, 70 * time.Second} {
		t.Run(step.String(), func(t *testing.T) { emptyRateWindows(t, step) })
	}
}

func emptyRateWindows(t *testing.T, step time.Duration) {
	h, err := history.New(history.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	stored := storedNames{names: map[string]struct{}{"x": {}}}
	var since storedSince
	exprs := []string{
		`sum(rate(x[1m]))`,
		`sum(rate(x[1m] offset 1m))`,
		`sum(irate(x[30s] offset 2m))`,
		`sum(deriv(x[1m] offset 90s))`,
		`max_over_time(rate(x[1m])[2m:15s])`,
		`max_over_time(rate(x[1m] offset 1m)[1m:15s])`,
		`max_over_time(rate(x[1m])[5m:15s])`,
		`max_over_time(rate(x[1m])[5m:30s])`,
		`max_over_time(rate(x[1m])[5m:])`,
		`max_over_time(rate(x[50s] offset 20s)[2m:45s] offset 10s)`,
		`sum_over_time(sum(irate(x[30s]))[3m:15s])`,
		`max_over_time(increase(x[1m])[5m:30s])`,
		// Nested subqueries: the inner steps the outer ones read (on two grids).
		`max_over_time(max_over_time(rate(x[1m])[2m:10s])[5m:30s])`,
		`max_over_time(max_over_time(rate(x[1m])[1m:1m])[1m:1m])`,
		`max_over_time(max_over_time(increase(x[1m])[1m:1m])[2m:1m])`,
		`max_over_time(max_over_time(rate(x[1m])[30s:1m])[3m:45s])`,
		`max_over_time(max_over_time(rate(x[1m])[30s:10s])[5m:2m])`,
		`max_over_time(max_over_time(rate(x[1m] offset 30s)[2m:20s] offset 15s)[3m:45s])`,
		`max_over_time(max_over_time(rate(x[1m])[2m:])[5m:])`,
		`sum_over_time(max_over_time(increase(x[1m] offset 10s)[2m:1m] offset 20s)[3m:1m])`,
		`max_over_time(min_over_time(max_over_time(irate(x[40s])[1m:20s])[1m:30s])[2m:1m])`,
		// A rate over a subquery's window reads its points, not scrapes.
		`deriv(sum(rate(x[1m]))[5m:1m])`,
		`rate(rate(x[1m])[5m:2m])`,
		`deriv(max_over_time(x[1m:10s])[3m:30s])`,
		`max_over_time(deriv(rate(x[1m])[3m:1m])[2m:30s])`,
		`max_over_time(irate(rate(x[1m])[2m:50s])[5m:3m])`,
	}
	for i := range 24 {
		at := t0.Add(time.Duration(i) * step)
		sc := history.Scrape{Target: "p", Time: at, Samples: []history.Sample{{
			Labels: labels.FromStrings("__name__", "x", "pod", "p"), T: at.UnixMilli(), V: float64(10 * i),
		}}}
		if _, err := h.Append(context.Background(), at, []history.Scrape{sc}); err != nil {
			t.Fatal(err)
		}
		since.record(stored, at, history.DefaultRetention)
		oldest, _ := h.Span()
		cov := coverage{oldest: oldest, since: since.clone(), answers: func(expr string, at time.Time) (bool, error) {
			res, err := h.Query(context.Background(), expr, at)
			return len(res.Points) > 0, err
		}}
		for _, expr := range exprs {
			res, err := h.Query(context.Background(), expr, at)
			if err != nil {
				t.Fatal(err)
			}
			held := at.Sub(t0)
			if len(res.Points) > 0 {
				// An estimate that answers is no partial window's Error (a sum is).
				if err, _, _ := cov.check("q", expr+" or vector(0)", at); err != nil && !sums(t, expr) {
					t.Errorf("%s or vector(0), %s held: the rate answers %v, yet Error %v", expr, held, res.Points, err)
				}
				continue
			}
			if err, _, estimate := cov.check("q", expr, at); err == nil && estimate == nil {
				t.Errorf("%s, %s held: no value, and no partial window", expr, held)
			}
			if err, w, _ := cov.check("q", expr+" or vector(0)", at); !errors.Is(err, ErrPartialWindow) {
				t.Errorf("%s or vector(0), %s held: the rate answers nothing, yet Error %v (warnings %q); want ErrPartialWindow", expr, held, err, w)
			}
		}
	}
}

// sums reports whether a window of expr adds up over time: partial whatever it answers.
func sums(t *testing.T, expr string) bool {
	reads, err := history.Reads(expr)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range reads {
		if r.Sums {
			return true
		}
	}
	return false
}
