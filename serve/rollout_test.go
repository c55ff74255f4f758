package serve_test

import (
	"fmt"
	"maps"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/podscrape/podscrape/internal/rollouttest"
	"github.com/podscrape/podscrape/podscrapetest"
	"github.com/podscrape/podscrape/serve"
)

// vllmCounters is one vLLM pod's requests served so far.
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

// body is the pod's exposition, as vLLM exposes the counter and a gauge.
func (c *vllmCounters) body() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.requests
	return fmt.Sprintf(`# TYPE vllm:request_success_total counter
vllm:request_success_total{engine="0",finished_reason="stop",model_name="m"} %[1]g
# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{engine="0",model_name="m"} 2
`, n)
}

// deleteService deletes the Service ns/name, and returns it as it can be created again.
func deleteService(t *testing.T, ns, name string) *corev1.Service {
	t.Helper()
	var svc corev1.Service
	if err := env.Client.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: name}, &svc); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.Delete(t.Context(), &svc); err != nil {
		t.Fatal(err)
	}
	return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: svc.Labels},
		Spec: corev1.ServiceSpec{Selector: svc.Spec.Selector, Ports: svc.Spec.Ports}}
}

// TestRolloutIsAnsweredAsTheRequestsServed: serve's answers to KEDA's and the adapter's
// queries through a Deployment's rollout (15 s scrapes, 6 requests a second shared by
// the pods taking traffic), at every scrape, against the requests served:
// maxSurge 1 of 3 pods, maxUnavailable 1 of 3, and maxUnavailable 1 of 1 (no pod Ready
// while the new one loads its model). sum(increase[10m]) stays within 3% of the requests
// scrapes saw (never above all of them: an old pod's requests after its last scrape,
// once terminating, are seen by no scrape of serve), sum(rate[5m]) never above the load
// nor, while some pod is Ready, under 90% of it; while no pod is Ready, every query is
// 503 naming why (KEDA keeps its last decision), never 200 []; and never a 422 after it
// (see TestNoReadyPodOfARolloutIsNoGap).
func TestRolloutIsAnsweredAsTheRequestsServed(t *testing.T) {
	for _, tc := range []struct {
		name string
		pods int
		kind string
	}{{"maxSurge 1 of 3", 3, rollouttest.Surge}, {"maxUnavailable 1 of 3", 3, rollouttest.Unavailable}, {"maxUnavailable 1 of 1", 1, rollouttest.Unavailable}} {
		t.Run(tc.name, func(t *testing.T) { checkServedRollout(t, tc.pods, tc.kind) })
	}
}

// checkServedRollout rolls a Deployment of pods of kind (rollouttest.Step) and
// checks serve's answers at every scrape against the requests served.
func checkServedRollout(t *testing.T, pods int, kind string) {
	const step, perStep = 15 * time.Second, 90.0
	olds := []string{"vllm-old-0", "vllm-old-1", "vllm-old-2"}[:pods]
	news := []string{"vllm-new-0", "vllm-new-1", "vllm-new-2"}[:pods]
	counters := map[string]*vllmCounters{}
	for _, n := range append(append([]string(nil), olds...), news...) {
		counters[n] = &vllmCounters{}
	}
	svc, err := env.NewService(t.Context(), podscrapetest.ServiceOptions{Name: "vllm", PodNames: olds, Body: "# nothing\n"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svc.Close() })
	setBodies := func() {
		for _, p := range svc.Pods() {
			p.SetBody(counters[p.Name].body())
		}
	}
	setBodies()
	// The history is built in the past (serve.ScrapeAt), up to now.
	srv, base := runReadyServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)},
		Interval: 4 * time.Minute, Retention: 30 * time.Minute})
	const rolloutAt = 45
	steps := rolloutAt + 6*pods + 45
	start := time.Now().Add(-time.Duration(steps) * step)
	serving := map[string]bool{}
	for _, n := range olds {
		serving[n] = true
	}
	var served []float64
	unseen := make([]float64, steps)
	load := perStep / step.Seconds()
	for i := range steps {
		at := start.Add(time.Duration(i) * step)
		if j := i - rolloutAt; j >= 0 {
			before := len(serving)
			drained := maps.Clone(serving)
			if err := rollouttest.Step(t.Context(), env.Client, svc, kind, j, olds, news, serving); err != nil {
				t.Fatal(err)
			}
			for name := range drained {
				if !serving[name] {
					unseen[i-1] += perStep / float64(before)
				}
			}
		}
		setBodies()
		if err := serve.ScrapeAt(t.Context(), srv, 0, at); err != nil {
			t.Fatalf("scrape %d: %v", i, err)
		}
		truth, seen := 0.0, 0.0
		for s := max(0, len(served)-40); s < len(served); s++ {
			truth += served[s]
			seen += served[s] - unseen[s]
		}
		qt := formatTime(at.Add(time.Second))
		ask := func(expr string) (int, apiResponse, float64) {
			code, r := call(t, http.MethodGet, base, "/api/v1/query", url.Values{"query": {expr}, "time": {qt}})
			if code != http.StatusOK {
				noReady := len(serving) == 0 && code == http.StatusServiceUnavailable && strings.Contains(r.Error, "no ready pod")
				if !noReady {
					t.Errorf("%s at %s: %d %q, want 200 (or, no pod Ready, 503 saying so)", expr, at.Sub(start), code, r.Error)
				}
				return code, r, 0
			}
			v := vector(t, r)
			if len(v) != 1 {
				t.Errorf("%s at %s: 200 %s warnings %q, want one value", expr, at.Sub(start), r.Data, r.Warnings)
				return code, r, 0
			}
			f, err := strconv.ParseFloat(fmt.Sprint(v[0].Value[1]), 64)
			if err != nil {
				t.Fatal(err)
			}
			return code, r, f
		}
		if i >= 40 { // 10 minutes held
			if code, _, got := ask(`sum(increase(vllm:request_success_total[10m]))`); code == http.StatusOK && (math.Abs(got-seen) > 0.03*seen || got > 1.01*truth) {
				t.Errorf("sum(increase[10m]) at %s: %.1f, want the %.0f requests of the last 10 minutes scraped (of %.0f), within 3%%", at.Sub(start), got, seen, truth)
			}
			if code, r, got := ask(`sum(rate(vllm:request_success_total[5m]))`); code == http.StatusOK && (got > 1.02*load || (pods > 1 && got < 0.9*load)) {
				t.Errorf("sum(rate[5m]) at %s: %.3f (warnings %q), want the load, %g", at.Sub(start), got, r.Warnings, load)
			}
			ask(`sum(vllm:num_requests_waiting)`)
		}
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

// TestNoReadyPodOfARolloutIsNoGap: one replica rolled with maxUnavailable 1: for a minute
// no pod is Ready (the old one terminating, the new one loading its model), and queries
// then are 503. Those scrapes found no pod to scrape, as a Service scaled to zero: no pod
// serving was left unseen but the old one's draining, as in any rollout. They were taken
// for an outage (a gap of the history), and ten minutes later, for as long as the window
// started in that minute, sum(increase(x[10m])) answered 422 at every poll and
// sum(rate(x[5m])) was narrowed with a warning, where the library and Prometheus answer.
// A pod that answered before and turned not Ready (overloaded, still serving its queue)
// makes it an outage still: its windows are partial as before; and so does a scrape
// that failed otherwise (the Service deleted for a minute: discovery fails), which
// leaves the pods serving unseen.
func TestNoReadyPodOfARolloutIsNoGap(t *testing.T) {
	for _, tc := range []struct {
		name        string
		rollout     bool // else the pod turns not Ready, and Ready again
		serviceGone bool // instead, the Service is deleted, and created again
	}{{"a rollout", true, false}, {"the only pod not Ready", false, false}, {"the Service deleted", false, true}} {
		t.Run(tc.name, func(t *testing.T) {
			const step = 15 * time.Second
			c := &vllmCounters{}
			svc, err := env.NewService(t.Context(), podscrapetest.ServiceOptions{Name: "vllm", PodNames: []string{"vllm-old"}, Body: c.body()})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = svc.Close() })
			srv, base := runReadyServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)},
				Interval: 4 * time.Minute, Retention: 30 * time.Minute})
			const at, ready, steps = 45, 50, 95 // no pod Ready from at to ready; 10 minutes after
			start := time.Now().Add(-steps * step)
			partial := 0
			var gone *corev1.Service // the Service deleted, to create again
			for i := range steps {
				switch {
				case i == at && tc.serviceGone:
					gone = deleteService(t, svc.Namespace, svc.Name)
				case i == ready && tc.serviceGone:
					if err := env.Client.Create(t.Context(), gone); err != nil {
						t.Fatal(err)
					}
				case i == at && tc.rollout:
					if err := rollouttest.Drain(t.Context(), env.Client, svc.Namespace, "vllm-old"); err != nil {
						t.Fatal(err)
					}
					if _, err := svc.AddPod(t.Context(), "vllm-new"); err != nil {
						t.Fatal(err)
					}
					if err := svc.Pod("vllm-new").SetReady(t.Context(), false); err != nil {
						t.Fatal(err)
					}
				case i == at:
					if err := svc.Pod("vllm-old").SetReady(t.Context(), false); err != nil {
						t.Fatal(err)
					}
				case i == ready && tc.rollout:
					if err := rollouttest.Release(t.Context(), env.Client, svc.Namespace, "vllm-old"); err != nil {
						t.Fatal(err)
					}
					if err := svc.Pod("vllm-old").Delete(t.Context()); err != nil {
						t.Fatal(err)
					}
					if err := svc.Pod("vllm-new").SetReady(t.Context(), true); err != nil {
						t.Fatal(err)
					}
					c = &vllmCounters{}
				case i == ready:
					if err := svc.Pod("vllm-old").SetReady(t.Context(), true); err != nil {
						t.Fatal(err)
					}
				}
				c.add(30)
				for _, p := range svc.Pods() {
					p.SetBody(c.body())
				}
				when := start.Add(time.Duration(i) * step)
				if err := serve.ScrapeAt(t.Context(), srv, 0, when); err != nil {
					t.Fatal(err)
				}
				if i < 40 || (i >= at && i < ready) {
					continue // 10 minutes not held yet; no pod Ready (or no Service): 503
				}
				qt := formatTime(when.Add(time.Second))
				code, r := call(t, http.MethodGet, base, "/api/v1/query", url.Values{"query": {`sum(increase(vllm:request_success_total[10m]))`}, "time": {qt}})
				if code == http.StatusUnprocessableEntity && strings.Contains(r.Error, "starts in a gap") {
					partial++
					if tc.rollout {
						t.Errorf("sum(increase[10m]) at %s: %d %q, want the answer: no pod was left unseen", when.Sub(start), code, r.Error)
					}
				} else if code != http.StatusOK || len(vector(t, r)) != 1 {
					t.Errorf("sum(increase[10m]) at %s: %d %q %s, want one value", when.Sub(start), code, r.Error, r.Data)
				}
				code, r = call(t, http.MethodGet, base, "/api/v1/query", url.Values{"query": {`sum(rate(vllm:request_success_total[5m]))`}, "time": {qt}})
				if tc.rollout && (code != http.StatusOK || strings.Contains(strings.Join(r.Warnings, " "), "gap")) {
					t.Errorf("sum(rate[5m]) at %s: %d %q warnings %q, want the answer, no gap", when.Sub(start), code, r.Error, r.Warnings)
				}
			}
			if !tc.rollout && partial == 0 {
				t.Error(tc.name + " for a minute: sum(increase[10m]) never partial once its window started in that minute; want 422 then (a pod serving was left unseen)")
			}
		})
	}
}
