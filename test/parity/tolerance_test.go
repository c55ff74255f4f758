package parity

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/podscrape/podscrape/internal/promserver"
	"github.com/podscrape/podscrape/source"
	"github.com/podscrape/podscrape/source/llmd"
	"github.com/podscrape/podscrape/source/pod"
)

// Which compared queries extrapolate, and how (see rateTolerance).
var (
	// extrapolated take increase() or rate() of counters that start at zero (rate is the
	// increase over the window's length: the same relative difference).
	extrapolated = withSGLang(map[string]bool{llmd.ModelRequestCount: true, llmd.GenerationTokenRate: true, llmd.RequestRate: true,
		llmd.SchedulerDispatchRate: true, llmd.ModelArrivalRate: true})
	// ratios divide the rates of two counters that start at zero and are scraped together.
	ratios = withSGLang(map[string]bool{llmd.AvgOutputTokens: true, llmd.AvgInputTokens: true, llmd.PrefixCacheHitRate: true,
		llmd.AvgTTFT: true, llmd.AvgITL: true})
	// gaugeRates take rate() of a gauge: no zero point to clamp the start to.
	gaugeRates = map[string]bool{rateOfGauge.Name: true}
)

// withSGLang adds to names the SGLang variant of each: they extrapolate as their vLLM
// namesakes.
func withSGLang(names map[string]bool) map[string]bool {
	out := map[string]bool{}
	for name := range names {
		out[name] = true
		out[llmd.EngineQuery(llmd.EngineSGLang, name)] = true
	}
	return out
}

// zeroStartCounters are the counters under extrapolated and ratios: the simulation starts
// each at zero, which rateTolerance relies on and checkZeroStart checks.
const zeroStartCounters = `vllm:request_success_total|vllm:request_(generation|prompt)_tokens_(sum|count)|vllm:prefix_cache_(hits|queries)_total|` +
	`vllm:(time_to_first_token|inter_token_latency)_seconds_(sum|count)|(llm_d_epp|inference_extension)_scheduler_attempts_total|` +
	`sglang:(prompt_tokens|cached_tokens|num_requests)_total|sglang:(time_to_first_token_seconds|inter_token_latency_seconds|(generation|prompt)_tokens_histogram)_(sum|count)`

// The differential tests compare windows of [1m] and [5m] over every sample either side
// holds, so they stop stepping before the shortest window slides past Prometheus' first
// scrape.
const maxTestSpan = 50 * time.Second

// rateTolerance is the relative difference allowed between the two backends' answers to
// query name at one instant, derived from Prometheus' extrapolatedRate (v0.316).
//
// Both sides hold the same first and last values of every series (the simulation moves
// only between refreshes, and each step waits until Prometheus has scraped it), but take
// them at different moments: ours once per refresh (oursN samples a series), Prometheus'
// every second (promN). rate() and increase() return the difference of the last and first
// values scaled by (S + dStart + dEnd)/S, where S is the sampled span, and dStart, dEnd
// the extensions towards the window's edges:
//
//   - dEnd is the distance from the last sample to the evaluation instant, or half an
//     average interval when that is 1.1 intervals or more: so dEnd/S is at most the
//     distance over S, and at most 1.1/(n-1). For ours, the distance is at most the time
//     the refresh took (oursExcess); for Prometheus, up to its scrape interval.
//   - dStart is half an average interval (the [5m] and [1m] windows start long before the
//     pods' first samples), but for a counter never more than the distance to where the
//     counter would reach zero: S*first/(last-first), which is 0 for a counter that starts
//     at zero. So counters from zero have dStart = 0 on both sides, and a gauge up to
//     0.5/(n-1) of S.
//
// Hence: increase() of counters from zero may differ by oursExcess + 1.1/(promN-1); a
// ratio of two such rates over series scraped together is exact on each side (the factor
// cancels), up to rounding; a rate of a gauge may differ by 1.6/(n-1) of either side.
// The relative difference is measured against the larger value, so a tolerance of 1 or
// more cannot fail: such comparisons are made but not counted as evidence (tight).
func rateTolerance(name string, oursExcess float64, oursN, promN int) float64 {
	switch {
	case ratios[name]:
		return 1e-9
	case extrapolated[name]:
		return oursExcess + 1.1/float64(promN-1)
	case gaugeRates[name]:
		return 1.6/float64(oursN-1) + 1.6/float64(promN-1)
	}
	return 1e-12 // selections, max_over_time, max and sum of gauges: equal
}

// toleranceAt is rateTolerance for query name evaluated at instant at, asking Prometheus
// for its samples a series only when name takes a rate.
func toleranceAt(t *testing.T, prom *promserver.Server, namespace, name string, oursExcess float64, oursN int, at time.Time) float64 {
	t.Helper()
	if !rates(name) {
		return rateTolerance(name, 0, 0, 0)
	}
	return rateTolerance(name, oursExcess, oursN, promSamples(t, prom, namespace, at))
}

// attempts is how many times a step is taken before Prometheus' failing scrapes fail the
// test.
const attempts = 5

// untilSettled runs step's comparison, which reports false when a Prometheus scrape had
// failed at its instant (see settled), until it reports true, at most attempts times.
func untilSettled(t *testing.T, step int, compare func() bool) {
	t.Helper()
	for attempt := 1; !compare(); attempt++ {
		if attempt == attempts {
			t.Fatalf("step %d: a Prometheus scrape failed at each of %d attempts", step, attempts)
		}
	}
}

// tight reports whether a comparison within tol can fail for a wrong answer by a factor
// under 2: only those count as evidence that a query matches.
func tight(tol float64) bool { return tol < 0.5 }

// rates reports whether query name needs two samples a series on our side.
func rates(name string) bool { return extrapolated[name] || ratios[name] || gaugeRates[name] }

// ourScrapes counts one PodScrapingSource's refreshes, the samples each series has in its
// history, and bounds how far its last samples lie before the evaluation instant.
type ourScrapes struct {
	n          int       // refreshes so far
	first      time.Time // collection time of the first
	firstStart time.Time // when the first began: its samples lie between it and first
	// firstExcess bounds how far the first refresh's samples lie after firstStart,
	// relative to the span from them to the latest refresh's (narrowTolerance).
	firstExcess float64
}

// refresh refreshes src and returns its results, their latest collection time (the
// evaluation instant of its PromQL queries), and oursExcess, the bound on our dEnd/S of
// rateTolerance: every pod's scrape starts between the call and that instant, and the
// first refresh's samples lie before its own.
func (o *ourScrapes) refresh(ctx context.Context, src *pod.PodScrapingSource, spec source.RefreshSpec) (results map[string]*source.MetricResult, at time.Time, oursExcess float64, err error) {
	start := time.Now()
	results, err = src.Refresh(ctx, spec)
	if err != nil {
		return nil, at, 0, err
	}
	for _, r := range results {
		if r.CollectedAt.After(at) {
			at = r.CollectedAt
		}
	}
	o.n++
	if o.n == 1 {
		o.first, o.firstStart = at, start
		return results, at, 0, nil
	}
	// Milliseconds, as the history stores them: one more either way for the truncation.
	span := start.Sub(o.first) - 2*time.Millisecond
	if span <= 0 {
		o.firstExcess = 1
		return results, at, 1, nil
	}
	o.firstExcess = float64(o.first.Sub(o.firstStart)+2*time.Millisecond) / float64(span)
	return results, at, float64(at.Sub(start)+2*time.Millisecond) / float64(span), nil
}

// checkZeroStart fails the test unless every zeroStartCounters series Prometheus holds in
// namespace is zero: the precondition of rateTolerance for extrapolated and ratios.
func checkZeroStart(t *testing.T, ctx context.Context, prom *promserver.Server, namespace string) {
	t.Helper()
	sel := fmt.Sprintf(`{__name__=~%q, namespace=%q}`, zeroStartCounters, namespace)
	for expr, check := range map[string]func(model.Vector) bool{
		"count(" + sel + ")":      func(v model.Vector) bool { return len(v) == 1 && v[0].Value > 0 },
		"count(" + sel + " != 0)": func(v model.Vector) bool { return len(v) == 0 },
	} {
		v, _, _, err := prom.API.Query(ctx, expr, time.Now())
		vec, ok := v.(model.Vector)
		if err != nil || !ok || !check(vec) {
			t.Fatalf("counters at the start: %s = %v, %v; the tolerances assume every such counter present and zero", expr, v, err)
		}
	}
}

// settled reports whether every one of targets in namespace was up in Prometheus' last
// scrape before at, and logs it when not. A scrape that failed between the step's wait and
// at leaves its pod's series stale there, which says nothing about our answers: the step
// is then taken again.
func settled(t *testing.T, ctx context.Context, prom *promserver.Server, namespace string, at time.Time, targets int) bool {
	t.Helper()
	v, _, _, err := prom.API.Query(ctx, fmt.Sprintf(`count(up{namespace=%q} == 1)`, namespace), at)
	if err != nil {
		t.Fatalf("Prometheus up at %s: %v", at, err)
	}
	if vec, ok := v.(model.Vector); ok && len(vec) == 1 && int(vec[0].Value) == targets {
		return true
	}
	t.Logf("up at %s: %v of %d targets; a Prometheus scrape had failed: taking the step again", at.Format(time.RFC3339Nano), v, targets)
	return false
}

// promSamples returns the fewest samples Prometheus holds of any vLLM pod's series in
// namespace over the last 5 minutes at time at (stale markers of failed scrapes left
// out): its n for rateTolerance.
func promSamples(t *testing.T, prom *promserver.Server, namespace string, at time.Time) int {
	t.Helper()
	expr := fmt.Sprintf(`min(count_over_time(vllm:num_requests_waiting{namespace=%q}[5m]))`, namespace)
	v, _, _, err := prom.API.Query(t.Context(), expr, at)
	if err != nil {
		t.Fatal(err)
	}
	vec, ok := v.(model.Vector)
	if !ok || len(vec) != 1 || vec[0].Value < 2 {
		t.Fatalf("Prometheus samples at %s: %s = %v, want a count of at least 2", at, expr, v)
	}
	return int(vec[0].Value)
}
