package pod

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/podscrape/podscrape/source"
)

// A rate whose window reaches before the history is the counter's rate over the span
// held, with its warning and no Error: a minute after a start, rate(x[5m]) reads the
// load, not a fifth of it (the engine divides the increase of the span held by the whole
// range). An offset window alike; a ratio of two rates was right before and stays so.
func TestRateOverTheSpanHeld(t *testing.T) {
	const perScrape, step = 30.0, 15 * time.Second // 2 requests a second
	body := func(i int) string {
		return fmt.Sprintf("# TYPE reqs_total counter\nreqs_total %g\n# TYPE tokens_total counter\ntokens_total %g\n",
			1000+perScrape*float64(i), 5000+3*perScrape*float64(i))
	}
	p, cfg := startBodyPod(t, body(0))
	s, clk := fakeClockSource(t, cfg, time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC), nil)
	want := map[string]float64{
		"rate":        perScrape / step.Seconds(),
		"sum_rate":    perScrape / step.Seconds(),
		"rate_offset": perScrape / step.Seconds(),
		"ratio":       3,
	}
	for name, q := range map[string]string{
		"rate":        `rate(reqs_total[5m])`,
		"sum_rate":    `sum(rate(reqs_total[5m]))`,
		"rate_offset": `rate(reqs_total[5m] offset 15s)`,
		"ratio":       `sum(rate(tokens_total[5m])) / sum(rate(reqs_total[5m]))`,
	} {
		s.QueryList().MustRegister(source.QueryTemplate{Name: name, Type: source.QueryTypePromQL, Template: q})
	}
	for i := range 5 {
		p.set(body(i), false)
		rs := mustRefresh(t, s)
		clk.Step(step)
		if i < 2 {
			continue // one or two scrapes: a rate over one estimates nothing
		}
		for name, v := range want {
			r := rs[name]
			if r.Error != nil || len(r.Values) != 1 {
				t.Fatalf("%s after %d scrapes: Error %v, %d values; want one value and no Error", name, i+1, r.Error, len(r.Values))
			}
			if got := r.Values[0].Value; math.Abs(got-v) > 1e-9 {
				t.Errorf("%s after %d scrapes (%s held): %g, want the rate over the span held, %g", name, i+1, time.Duration(i)*step, got, v)
			}
			if name != "ratio" && !strings.Contains(strings.Join(r.Warnings, "\n"), "estimated over the span held") {
				t.Errorf("%s after %d scrapes: warnings %q, want the partial window's", name, i+1, r.Warnings)
			}
		}
	}
}

// An anchored rate reads the window's start from the last sample at or before it, a
// lookback delta back at most: after the source's refreshes failed for 3 minutes,
// rate(x[3m] anchored) anchors on the sample before the outage, and keeps its window
// (Prometheus' answer: the 4 minutes' increase since that sample over 3 minutes), where
// narrowed to the 45 s after the outage it would divide those 4 minutes' increase by
// 45 s: 5 times the load. The plain rate is narrowed to the span after the outage.
func TestAnchoredRateAfterAnOutage(t *testing.T) {
	const perScrape, step = 30.0, 15 * time.Second // 2 requests a second
	body := func(i int) string {
		return fmt.Sprintf("# TYPE reqs_total counter\nreqs_total %g\n", 1000+perScrape*float64(i))
	}
	p, cfg := startBodyPod(t, body(0))
	s, clk := fakeClockSource(t, cfg, time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC), nil)
	for name, q := range map[string]string{"rate": `rate(reqs_total[3m])`, "anchored": `rate(reqs_total[3m] anchored)`} {
		s.QueryList().MustRegister(source.QueryTemplate{Name: name, Type: source.QueryTypePromQL, Template: q})
	}
	var rs map[string]*source.MetricResult
	for i := range 56 { // 10 minutes, refreshes 40 to 51 failing (3 minutes), 45 s after
		outage := i >= 40 && i < 52
		p.set(body(i), outage)
		if outage {
			_, _ = s.Refresh(context.Background(), source.RefreshSpec{})
		} else {
			rs = mustRefresh(t, s)
		}
		if i < 55 {
			clk.Step(step)
		}
	}
	// The last sample before the outage is refresh 39's, 16 refreshes before the last.
	for name, want := range map[string]float64{"rate": perScrape / step.Seconds(), "anchored": 16 * perScrape / 180} {
		r := rs[name]
		if r.Error != nil || len(r.Values) != 1 || !strings.Contains(strings.Join(r.Warnings, "\n"), "gap") {
			t.Fatalf("%s after the outage: Error %v, %d values, warnings %q; want one value, no Error, the gap's warning", name, r.Error, len(r.Values), r.Warnings)
		}
		if got := r.Values[0].Value; math.Abs(got-want) > 1e-6 {
			t.Errorf("%s after the outage: %g, want %g", name, got, want)
		}
	}
}

// A series exposed with a fixed timestamp of its own, older than the first scrape, holds
// one sample and has no rate: it does not set the span a rate is narrowed to. Narrowed to
// start before it, two minutes earlier, the rate of a counter scraped for a minute beside
// it read a quarter of its load.
func TestRateBesideASeriesOfOneSample(t *testing.T) {
	const perScrape, step = 30.0, 15 * time.Second // 2 requests a second
	start := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	frozen := start.Add(-2 * time.Minute).UnixMilli()
	body := func(i int) string {
		return fmt.Sprintf("# TYPE reqs_total counter\nreqs_total{path=\"a\"} 5 %d\nreqs_total{path=\"b\"} %g\n", frozen, 1000+perScrape*float64(i))
	}
	p, cfg := startBodyPod(t, body(0))
	s, clk := fakeClockSource(t, cfg, start, nil)
	s.QueryList().MustRegister(source.QueryTemplate{Name: "rate", Type: source.QueryTypePromQL, Template: `rate(reqs_total[5m])`})
	for i := range 5 {
		p.set(body(i), false)
		r := mustRefresh(t, s)["rate"]
		clk.Step(step)
		if i < 2 {
			continue
		}
		if r.Error != nil || len(r.Values) != 1 || r.Values[0].Labels["path"] != "b" {
			t.Fatalf("after %d scrapes: Error %v, values %v; want path b's rate and no Error", i+1, r.Error, r.Values)
		}
		if got, want := r.Values[0].Value, perScrape/step.Seconds(); math.Abs(got-want) > 1e-6 {
			t.Errorf("after %d scrapes (%s held): %g, want the rate over the span held, %g", i+1, time.Duration(i)*step, got, want)
		}
	}
}

// A rate whose window the history holds is Prometheus' over the whole window, also for a
// series begun within it (a model newly served): from its first value, 0, the engine
// extrapolates to the window's start no further than the counter's zero, and reads the
// increase over the whole range. Narrowed as if the window reached before the history,
// it read the slope over the series' own span: a third more than Prometheus, for the
// same scrapes. So in a ratio with a rate whose window does reach before the history,
// which alone is narrowed.
func TestRateOfASeriesBegunWithinAHeldWindow(t *testing.T) {
	const perScrape, step = 30.0, 15 * time.Second // 2 requests a second
	body := func(i int) string {
		b := fmt.Sprintf("# TYPE reqs_total counter\nreqs_total{model=\"a\"} %g\n", 1000+perScrape*float64(i))
		if i >= 21 {
			b += fmt.Sprintf("reqs_total{model=\"b\"} %g\n", perScrape*float64(i-21))
		}
		return b
	}
	p, cfg := startBodyPod(t, body(0))
	s, clk := fakeClockSource(t, cfg, time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC), nil)
	for name, q := range map[string]string{
		"rate":  `rate(reqs_total{model="b"}[1m])`,
		"ratio": `sum(rate(reqs_total{model="b"}[1m])) / sum(rate(reqs_total{model="a"}[10m]))`,
	} {
		s.QueryList().MustRegister(source.QueryTemplate{Name: name, Type: source.QueryTypePromQL, Template: q})
	}
	var rs map[string]*source.MetricResult
	for i := range 25 { // 6 minutes held; model b's values 0, 30, 60, 90 over its last 45 s
		p.set(body(i), false)
		rs = mustRefresh(t, s)
		if i < 24 {
			clk.Step(step)
		}
	}
	// Prometheus: the increase, 90, over the 45 s sampled, not extrapolated before the
	// first value (0), nor after the last (at the instant): 90 over the range, 60 s. Model
	// a's rate over 10 minutes, 6 held, is its slope over the span held.
	for name, want := range map[string]float64{"rate": 3 * perScrape / 60, "ratio": (3 * perScrape / 60) / (perScrape / step.Seconds())} {
		r := rs[name]
		if r.Error != nil || len(r.Values) != 1 || (len(r.Warnings) == 0) != (name == "rate") {
			t.Fatalf("%s: Error %v, values %v, warnings %q; want one value, no Error, model a's partial window's warning only", name, r.Error, r.Values, r.Warnings)
		}
		if got := r.Values[0].Value; math.Abs(got-want) > 1e-9 {
			t.Errorf("%s = %g, want %g: model b's rate Prometheus' over the whole window held", name, got, want)
		}
	}
}

// An offset window narrowed to the span held reads the series holding two values in that
// window, which ends the offset before the query's time: a series with one value in it
// (a pod's, its scrapes failing since) and its second after the window's end does not set
// the span. Counted, the span began at its one value, and the other pod's rate, divided
// by twice its span, extrapolated over half a scrape only, read five eighths of its load.
func TestOffsetRateNarrowedToItsOwnWindow(t *testing.T) {
	const perScrape, step = 30.0, 15 * time.Second // 2 requests a second
	body := func(i int) string {
		b := "# TYPE reqs_total counter\n"
		if i == 0 || i >= 5 { // pod a at 0 s, then from 75 s on
			b += fmt.Sprintf("reqs_total{path=\"a\"} %g\n", 5+perScrape*float64(i))
		}
		if i >= 2 { // pod b from 30 s on
			b += fmt.Sprintf("reqs_total{path=\"b\"} %g\n", 1000+perScrape*float64(i-2))
		}
		return b
	}
	p, cfg := startBodyPod(t, body(0))
	s, clk := fakeClockSource(t, cfg, time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC), nil)
	s.QueryList().MustRegister(source.QueryTemplate{Name: "rate", Type: source.QueryTypePromQL, Template: `rate(reqs_total[5m] offset 1m)`})
	var r *source.MetricResult
	for i := range 9 { // evaluated at 120 s: the window ends at 60 s
		p.set(body(i), false)
		r = mustRefresh(t, s)["rate"]
		if i < 8 {
			clk.Step(step)
		}
	}
	if r.Error != nil || len(r.Values) != 1 || r.Values[0].Labels["path"] != "b" {
		t.Fatalf("Error %v, values %v; want pod b's rate and no Error", r.Error, r.Values)
	}
	if got, want := r.Values[0].Value, perScrape/step.Seconds(); math.Abs(got-want) > 1e-9 {
		t.Errorf("rate = %g, want pod b's over the span held in the window, %g", got, want)
	}
}

// A rate beside a window that adds up (increase, sum_over_time) reaching before the
// history too is evaluated over the span held: the answer's ErrPartialWindow is the
// increase's, and the rate keeps its value. Left whole, a minute after a start, the rate
// of "the request rate while requests come in" read a fifth of the load.
func TestRateBesideAPartialIncrease(t *testing.T) {
	const perScrape, step = 30.0, 15 * time.Second // 2 requests a second
	body := func(i int) string {
		return fmt.Sprintf("# TYPE reqs_total counter\nreqs_total %g\n", 1000+perScrape*float64(i))
	}
	p, cfg := startBodyPod(t, body(0))
	s, clk := fakeClockSource(t, cfg, time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC), nil)
	s.QueryList().MustRegister(source.QueryTemplate{Name: "rate", Type: source.QueryTypePromQL,
		Template: `sum(rate(reqs_total[5m])) and on() (sum(increase(reqs_total[5m])) > 0)`})
	var r *source.MetricResult
	for i := range 5 { // a minute held
		p.set(body(i), false)
		r = mustRefresh(t, s)["rate"]
		if i < 4 {
			clk.Step(step)
		}
	}
	if !errors.Is(r.Error, ErrPartialWindow) || len(r.Values) != 1 {
		t.Fatalf("Error %v, values %v; want one value and the increase's ErrPartialWindow", r.Error, r.Values)
	}
	if got, want := r.Values[0].Value, perScrape/step.Seconds(); math.Abs(got-want) > 1e-9 {
		t.Errorf("rate = %g, want the rate over the span held, %g", got, want)
	}
}
