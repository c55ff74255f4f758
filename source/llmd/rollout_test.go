package llmd_test

import (
	"context"
	"fmt"
	"maps"
	"math"
	"sync"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	"github.com/podscrape/podscrape/internal/rollouttest"
	"github.com/podscrape/podscrape/podscrapetest"
	"github.com/podscrape/podscrape/source"
	"github.com/podscrape/podscrape/source/llmd"
	"github.com/podscrape/podscrape/source/pod"
)

// vllmCounters is one vLLM pod's requests served so far, exposed as vLLM exposes them.
type vllmCounters struct {
	mu       sync.Mutex
	requests float64
}

// add counts n more requests served.
func (c *vllmCounters) add(n float64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.requests += n
}

// body is the pod's exposition of model, as vLLM exposes the queries' metrics.
func (c *vllmCounters) body(model string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.requests
	return fmt.Sprintf(`# TYPE vllm:request_success_total counter
vllm:request_success_total{engine="0",finished_reason="stop",model_name=%[1]q} %[2]g
# TYPE vllm:request_generation_tokens histogram
vllm:request_generation_tokens_bucket{engine="0",model_name=%[1]q,le="+Inf"} %[2]g
vllm:request_generation_tokens_sum{engine="0",model_name=%[1]q} %[3]g
vllm:request_generation_tokens_count{engine="0",model_name=%[1]q} %[2]g
# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{engine="0",model_name=%[1]q} 2
# TYPE vllm:kv_cache_usage_perc gauge
vllm:kv_cache_usage_perc{engine="0",model_name=%[1]q} 0.5
`, model, n, 10*n)
}

// TestRolloutAnswersTheRequestsServed: a Deployment of vLLM pods rolled as Kubernetes
// rolls it, read through the library with the autoscaler's vLLM queries on a fake clock
// (15 s refreshes, 6 requests a second shared by the pods that take traffic), compared
// at every refresh with the requests the pods served:
//   - maxSurge 1 of 3 pods: a new pod is Ready (its counter from 0), then an old pod
//     drains (terminating, no new requests), then is gone;
//   - maxUnavailable 1 of 3 pods: an old pod drains while its replacement loads its
//     model (not Ready for a minute);
//   - maxUnavailable 1 of 1 pod (a GPU-bound rollout, or Recreate): no pod Ready for a
//     minute, no request served meanwhile.
//
// model_request_count (sum(increase[10m])) stays within 3% of the requests of the last
// 10 minutes throughout and after (the old pods' stale series keep counting in the
// window, as in a Prometheus server; the gap is the extrapolation at each series' ends);
// request_rate (the per-pod 1m rates) is never above the load, nor, while pods are
// Ready, below 80% of it; no result is ever empty with neither an Error nor a warning
// (while no pod is Ready, the warning says so: it said nothing, the autoscaler's "no
// load"). Requests a pod completes after it turned terminating are not in the test's
// load: the library does not scrape terminating pods (docs/library.md, During a rollout).
func TestRolloutAnswersTheRequestsServed(t *testing.T) {
	for _, tc := range []struct {
		name string
		pods int
		kind string
	}{{"maxSurge 1 of 3", 3, rollouttest.Surge}, {"maxUnavailable 1 of 3", 3, rollouttest.Unavailable}, {"maxUnavailable 1 of 1", 1, rollouttest.Unavailable}} {
		t.Run(tc.name, func(t *testing.T) { checkRollout(t, tc.pods, tc.kind) })
	}
}

// checkRollout rolls a Deployment of pods of kind (rollouttest.Step) and checks every
// refresh's answers against the requests served.
func checkRollout(t *testing.T, pods int, kind string) {
	const model, step, perStep = "m", 15 * time.Second, 90.0 // 6 requests a second in all
	ctx := context.Background()
	olds := []string{"vllm-old-0", "vllm-old-1", "vllm-old-2"}[:pods]
	news := []string{"vllm-new-0", "vllm-new-1", "vllm-new-2"}[:pods]
	counters := map[string]*vllmCounters{}
	for _, n := range append(append([]string(nil), olds...), news...) {
		counters[n] = &vllmCounters{}
	}
	svc, err := env.NewService(ctx, podscrapetest.ServiceOptions{Name: "vllm", PodNames: olds, Body: "# nothing yet\n"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svc.Close() })
	setBodies := func() {
		for _, p := range svc.Pods() {
			p.SetBody(counters[p.Name].body(model))
		}
	}
	clk := clocktesting.NewFakeClock(time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC))
	src, err := pod.NewPodScrapingSource(ctx, env.Client, pod.PodScrapingSourceConfig{
		ServiceName: svc.Name, ServiceNamespace: svc.Namespace, MetricsPort: svc.Port, Clock: clk,
		PodLabels: llmd.PodLabels(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(src.Close)
	if err := llmd.Register(src.QueryList(), llmd.VLLMQueries()); err != nil {
		t.Fatal(err)
	}
	spec := source.RefreshSpec{Params: map[string]string{source.ParamNamespace: svc.Namespace, source.ParamModelID: model,
		llmd.ParamRetentionPeriod: "10m"}}

	serving := map[string]bool{} // the pods taking new requests
	for _, n := range olds {
		serving[n] = true
	}
	// The rollout starts once 10 minutes are held, and is followed for 11 more.
	const rolloutAt = 45
	steps := rolloutAt + 6*pods + 45
	var served []float64 // the requests served in each step
	// unseen are those of them that old pods served after their last scrape: a pod
	// found terminating is not scraped again (a Prometheus server scrapes it until it
	// exits), so no answer holds them.
	unseen := make([]float64, steps)
	for i := range steps {
		if j := i - rolloutAt; j >= 0 {
			before := len(serving)
			drained := maps.Clone(serving)
			if err := rollouttest.Step(ctx, env.Client, svc, kind, j, olds, news, serving); err != nil {
				t.Fatal(err)
			}
			for name := range drained {
				if !serving[name] {
					unseen[i-1] += perStep / float64(before)
				}
			}
		}
		setBodies()
		rs, err := src.Refresh(ctx, spec)
		if err != nil {
			t.Fatalf("refresh %d: %v", i, err)
		}
		truth, seen := 0.0, 0.0 // the requests of the last 10 minutes, and those scraped
		for s := max(0, len(served)-40); s < len(served); s++ {
			truth += served[s]
			seen += served[s] - unseen[s]
		}
		at := time.Duration(i) * step
		// The queries over what the pods expose (vLLM's latency histograms, prompt
		// tokens, prefix cache and cache config are not).
		for _, name := range []string{llmd.ModelRequestCount, llmd.RequestRate, llmd.GenerationTokenRate,
			llmd.KVUsageInstant, llmd.KVCacheUsage, llmd.QueueLength, llmd.AvgOutputTokens} {
			if r := rs[name]; len(r.Values) == 0 && r.Error == nil && len(r.Warnings) == 0 {
				t.Errorf("%s at %s: empty, with neither an Error nor a warning (serving %d pods)", name, at, len(serving))
			}
		}
		if i >= 40 { // the 10 minutes held
			checkRolloutAnswers(t, rs, at, truth, seen, perStep/step.Seconds(), pods > 1)
		}
		// The step to the next refresh: the pods taking traffic share the load.
		clk.Step(step)
		for name := range serving {
			counters[name].add(perStep / float64(len(serving)))
		}
		if len(serving) == 0 {
			served = append(served, 0)
		} else {
			served = append(served, perStep)
		}
	}
}

// checkRolloutAnswers checks a refresh at at of a rollout: model_request_count within 3%
// of seen, the requests of the last 10 minutes that a scrape saw, and never above truth,
// all of them; request_rate's per-pod rates never above load, nor below 80% of it when
// servingMany (some pod always Ready).
func checkRolloutAnswers(t *testing.T, rs map[string]*source.MetricResult, at time.Duration, truth, seen, load float64, servingMany bool) {
	t.Helper()
	if mrc := rs[llmd.ModelRequestCount]; mrc.Error != nil || len(mrc.Values) != 1 {
		t.Errorf("model_request_count at %s: %d values, Error %v; want one, no Error", at, len(mrc.Values), mrc.Error)
	} else if got := mrc.Values[0].Value; math.Abs(got-seen) > 0.03*seen || got > 1.01*truth {
		t.Errorf("model_request_count at %s: %.1f, want the %.0f requests of the last 10 minutes scraped (of %.0f), within 3%%", at, got, seen, truth)
	}
	rr := rs[llmd.RequestRate]
	rate := 0.0
	for _, v := range rr.Values {
		rate += v.Value
	}
	if rate > 1.02*load {
		t.Errorf("request_rate at %s: %.3f in all, above the load, %g", at, rate, load)
	}
	if servingMany && rate < 0.8*load {
		t.Errorf("request_rate at %s: %.3f in all (Error %v, warnings %q), under 80%% of the load, %g", at, rate, rr.Error, rr.Warnings, load)
	}
}
