package pod

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
)

// TestPartialWindowsPastTheTolerance: the misses of the partial-window rule the oracle
// (TestPartialWindowOracle) found. Every window starting before the history's oldest
// scrape by less than 1.1 times the scrapes' spacing read as whole
// (history.ReachesBefore's tolerance: "Prometheus extrapolates to the window's start, and
// a full history would hold no earlier sample in it"), and these read a sample before it
// in a full history, so the answer differed from the full one with no Error and no
// warning:
//   - a subquery whose steps are finer than the scrapes: the step between the window's
//     start and the oldest scrape reads, through the lookback delta, the scrape before
//     it (sum_over_time adds one point fewer: a smaller sum);
//   - an anchored or smoothed range: it does not extrapolate, it anchors the window's
//     start on the sample before it;
//   - a count or sum over time over scrapes a little late (jitter), or starting more
//     than one spacing before: the scrape just after the window's start is not held.
//
// Only a window Prometheus extrapolates to its start (a rate, an increase or a delta
// over a range selector, neither anchored nor smoothed: history.Window.Extrapolates)
// keeps the tolerance now; each of these reaches before the history.
func TestPartialWindowsPastTheTolerance(t *testing.T) {
	for _, c := range []struct {
		expr   string
		jitter bool
		at, h  int // the evaluation time and the history's oldest scrape, in scrapes
		step   time.Duration
	}{
		{expr: `sum_over_time(x[30s:5s])`, step: 10 * time.Second, at: 10, h: 8},
		{expr: `increase(x[1m] anchored)`, step: 15 * time.Second, at: 8, h: 5},
		{expr: `count_over_time(x[1m])`, step: 15 * time.Second, jitter: true, at: 8, h: 5},
	} {
		t.Run(c.expr, func(t *testing.T) {
			s := oracleSeries{lset: labels.FromStrings("__name__", "x")}
			for i := range 12 {
				ts := int64(i) * c.step.Milliseconds()
				if c.jitter && i == 4 {
					ts += 100 // the scrape a window of 1m from the 8th starts before
				}
				s.samples = append(s.samples, oracleSample{t: ts, v: float64(i * i)})
			}
			hs := newOracleHistories(t, []oracleSeries{s})
			defer hs.close()
			at := time.UnixMilli(hs.times[c.at])
			h := hs.times[c.h]
			want, err := hs.get(t, hs.times[0], at.UnixMilli()).Query(context.Background(), c.expr, at)
			if err != nil {
				t.Fatal(err)
			}
			trunc := hs.get(t, h, at.UnixMilli())
			got, err := trunc.Query(context.Background(), c.expr, at)
			if err != nil {
				t.Fatal(err)
			}
			if sameAnswer(want, got) {
				t.Fatalf("the truncated history answers as the full one: %s", pointsText(got))
			}
			oldest, _ := trunc.Span()
			cov := coverage{oldest: oldest, since: storedSince{all: oldest, appends: hs.appendsFrom(h, at.UnixMilli())}, pairs: trunc.PairWhere}
			if err, warnings, _ := cov.check("q", c.expr, at); err == nil && len(warnings) == 0 {
				t.Errorf("%s at %s over a history from %s: full %s, held %s, yet no Error and no warning",
					c.expr, at.Sub(time.UnixMilli(0)), time.UnixMilli(h).Sub(time.UnixMilli(0)), pointsText(want), pointsText(got))
			}
		})
	}
}
