package parity

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/podscrape/podscrape/internal/history"
	"github.com/podscrape/podscrape/internal/promserver"
	"github.com/podscrape/podscrape/source"
)

// spanHeldWarning is in the warnings of a pod source result with a window of an estimate
// reaching before its history: its rates over a range selector are evaluated over the
// span held (history.NarrowRates), where Prometheus, started earlier, reads the whole
// window.
const spanHeldWarning = "estimated over the span held"

// narrowedOver returns expr as the pod source evaluates it at at when its first samples
// were taken from first on (the start of its first refresh, at or before them): each
// rate over a range selector reaching before first narrowed to start a millisecond
// before it, and whether one was. Prometheus answering it reads the span the pod source
// holds, give or take its scrape interval at either end (narrowTolerance).
func narrowedOver(t *testing.T, expr string, at, first time.Time) (string, bool) {
	t.Helper()
	out, moved, err := history.NarrowRates(expr, at, func(int, history.Window) (time.Time, bool) { return first, true })
	if err != nil {
		t.Fatalf("narrowing %s: %v", expr, err)
	}
	return out, moved
}

// narrowed reports whether the pod source evaluated r's rates over the span held.
func narrowed(r *source.MetricResult) bool {
	return slices.ContainsFunc(r.Warnings, func(w string) bool { return strings.Contains(w, spanHeldWarning) })
}

// narrowTolerance is rateTolerance for query name evaluated over the span held on both
// sides: the pod source's window from a millisecond before its first sample (at or
// after first, by at most firstExcess of its span), Prometheus' from a millisecond before
// first, holding promN samples a series. Both sides extrapolate to both ends of such a
// window (the first sample lies within 1.1 intervals of its start), so each answers the
// change over its sampled span divided by that span: the same change (the simulation
// moves only between refreshes), over spans that differ by where each side's first and
// last samples fall. Prometheus' first lies up to 1.1 of its intervals after first and
// its last up to 1.1 before the instant, and its window holds up to 1.1 intervals before
// its first sample; the pod source's first lies up to firstExcess after first and its
// last up to oursExcess before the instant: oursExcess + firstExcess + 4.4/(promN-1) of
// the span (the fourth 1.1 for a last sample further back than that, extrapolated by half
// an interval). A ratio of two rates over one window is exact on each side.
func narrowTolerance(name string, oursExcess, firstExcess float64, promN int) float64 {
	if ratios[name] {
		return 1e-9
	}
	return oursExcess + firstExcess + 4.4/float64(promN-1)
}

// promSamplesNarrowed is promSamplesSince for the window narrowed to o's first refresh,
// evaluated at at.
func promSamplesNarrowed(t *testing.T, prom *promserver.Server, namespace string, o *ourScrapes, at time.Time) int {
	t.Helper()
	return promSamplesSince(t, prom, namespace, o.firstStart.Add(-time.Millisecond), at)
}

// promSamplesSince is promSamples over the window (from, at]: how many samples a series
// holds in a window narrowed to start at from. Under 2, Prometheus has no rate over it
// yet: the comparison waits for a later step.
func promSamplesSince(t *testing.T, prom *promserver.Server, namespace string, from, at time.Time) int {
	t.Helper()
	expr := fmt.Sprintf(`min(count_over_time(vllm:num_requests_waiting{namespace=%q}[%dms]))`, namespace, at.Sub(from).Milliseconds())
	v, _, _, err := prom.API.Query(t.Context(), expr, at)
	if err != nil {
		t.Fatal(err)
	}
	vec, ok := v.(model.Vector)
	switch {
	case !ok || len(vec) > 1:
		t.Fatalf("Prometheus samples in (%s, %s]: %s = %v, want a count", from, at, expr, v)
	case len(vec) == 0:
		return 0 // no sample in so short a window yet
	}
	return int(vec[0].Value)
}
