package localcluster_test

import (
	"maps"
	"math"
	"slices"
	"testing"

	dto "github.com/prometheus/client_model/go"

	"github.com/podscrape/podscrape/internal/localcluster"
)

// familySum is the sum of a counter or gauge family's series, or of a histogram
// family's counts; 0 for a family not exposed.
func familySum(families map[string]*dto.MetricFamily, name string) float64 {
	sum := 0.0
	for _, m := range families[name].GetMetric() {
		switch {
		case m.Counter != nil:
			sum += m.Counter.GetValue()
		case m.Gauge != nil:
			sum += m.Gauge.GetValue()
		case m.Histogram != nil:
			sum += float64(m.Histogram.GetSampleCount())
		}
	}
	return sum
}

// The simulated EPP counts a request where the real one does (llm-d-router's
// pkg/epp/handlers at ebab687, and the GIE EPP v1.2.1 before it): the request counter
// and request sizes once the director has scheduled it, so neither a request still held
// in flow control nor one rejected as a bad request (counted in the error counter only);
// input tokens from the model server's usage in the response, with the output tokens.
// The captures agree: ebab687's counts 17 requests, 17 scheduling attempts, 17 request
// sizes while 15 wait in flow control, 4 input and output token counts for its 4 answers
// and 13 running; v1.2.1's 16 requests and 1 BadRequest error, 10 input and output token
// counts and 6 running.
func TestSimulatedEPPCountsRequestsAsTheRealOne(t *testing.T) {
	type names struct{ requests, sizes, scheduled, input, output, duration, running, errors string }
	for _, tc := range []struct {
		gen   localcluster.Generation
		names []names
	}{
		{localcluster.Current, []names{
			{"llm_d_epp_request_total", "llm_d_epp_request_size_bytes", "llm_d_epp_scheduler_attempts_total",
				"llm_d_epp_request_input_tokens", "llm_d_epp_request_output_tokens", "llm_d_epp_request_duration_seconds",
				"llm_d_epp_request_running", "llm_d_epp_request_error_total"},
			{"inference_objective_request_total", "inference_objective_request_sizes", "inference_extension_scheduler_attempts_total",
				"inference_objective_input_tokens", "inference_objective_output_tokens", "inference_objective_request_duration_seconds",
				"inference_objective_running_requests", "inference_objective_request_error_total"},
		}},
		{localcluster.Previous, []names{
			{"inference_objective_request_total", "inference_objective_request_sizes", "inference_extension_scheduler_e2e_duration_seconds",
				"inference_objective_input_tokens", "inference_objective_output_tokens", "inference_objective_request_duration_seconds",
				"inference_objective_running_requests", "inference_objective_request_error_total"},
		}},
	} {
		t.Run(tc.gen.String(), func(t *testing.T) {
			s := localcluster.NewSimulation(localcluster.SimulationOptions{
				Seed: 3, EPPPods: []string{"epp-0"}, ModelServerPods: []string{"vllm-0"}, Generation: tc.gen,
			})
			var held, errored bool
			for step := range 200 {
				s.Step()
				f := parse(t, "epp-0", s.Exposition("epp-0"))
				held = held || familySum(f, "inference_extension_flow_control_queue_size") > 0
				for _, n := range tc.names {
					errored = errored || familySum(f, n.errors) > 0
					requests := familySum(f, n.requests)
					for _, other := range []string{n.sizes, n.scheduled} {
						if got := familySum(f, other); got != requests {
							t.Fatalf("step %d: %s is %v, %s %v: want the request counter to count the requests scheduled",
								step, n.requests, requests, other, got)
						}
					}
					done := familySum(f, n.duration)
					for _, other := range []string{n.input, n.output} {
						if got := familySum(f, other); got != done {
							t.Fatalf("step %d: %s counts %v, %s %v: want the tokens of the requests answered", step, other, got, n.duration, done)
						}
					}
					if got := familySum(f, n.running); got != requests-done {
						t.Fatalf("step %d: %s is %v, want %v requests scheduled less %v answered", step, n.running, got, requests, done)
					}
				}
			}
			if !held || !errored {
				t.Fatalf("in 200 steps: requests held in flow control %v, rejected %v: want both seen", held, errored)
			}
		})
	}
}

// The simulated previous EPP's flow control families are those of the EPP it stands for,
// the Gateway API Inference Extension's v1.2.1 (pkg/epp/metrics/metrics.go at v1.2.1;
// its capture, taken without flow control, has none): the queue size labelled
// fairness_id and priority only (the pool and model labels came in v1.3.0), the queue
// wait also by outcome, and no queue bytes family (v1.4.0).
func TestSimulatedPreviousEPPFlowControlIsV121(t *testing.T) {
	s := localcluster.NewSimulation(localcluster.SimulationOptions{
		Seed: 3, EPPPods: []string{"epp-0"}, ModelServerPods: []string{"vllm-0"}, Generation: localcluster.Previous,
	})
	for range 60 {
		s.Step()
	}
	f := parse(t, "epp-0", s.Exposition("epp-0"))
	for name, want := range map[string][]string{
		"inference_extension_flow_control_queue_size":                     {"fairness_id", "priority"},
		"inference_extension_flow_control_request_queue_duration_seconds": {"fairness_id", "outcome", "priority"},
	} {
		if f[name] == nil {
			t.Errorf("%s: not exposed", name)
			continue
		}
		if got := labelNames(f[name]); !slices.Equal(got, want) {
			t.Errorf("%s: got label names %v, want v1.2.1's %v", name, got, want)
		}
	}
	if f["inference_extension_flow_control_queue_bytes"] != nil {
		t.Error("inference_extension_flow_control_queue_bytes: exposed, but v1.2.1 has no such family")
	}
}

// The simulated current EPP labels a rejected request's error as llm-d-router's at
// ebab687 does: with the default fairness ID (pkg/epp/handlers extractFairnessAndPriority
// falls back to metadata.DefaultFairnessID, "default-flow", for a request it could not
// schedule), priority 0, and no model (the body was not parsed).
func TestSimulatedEPPErrorHasTheDefaultFairnessID(t *testing.T) {
	s := localcluster.NewSimulation(localcluster.SimulationOptions{
		Seed: 3, EPPPods: []string{"epp-0"}, ModelServerPods: []string{"vllm-0"},
	})
	for range 200 {
		s.Step()
		f := parse(t, "epp-0", s.Exposition("epp-0"))
		if familySum(f, "llm_d_epp_request_error_total") == 0 {
			continue
		}
		want := map[string]string{"error_code": "BadRequest", "fairness_id": "default-flow", "model_name": "",
			"priority": "0", "target_model_name": ""}
		for _, m := range f["llm_d_epp_request_error_total"].Metric {
			got := map[string]string{}
			for _, l := range m.Label {
				got[l.GetName()] = l.GetValue()
			}
			if !maps.Equal(got, want) {
				t.Errorf("llm_d_epp_request_error_total: got labels %v, want %v", got, want)
			}
		}
		return
	}
	t.Fatal("no request rejected in 200 steps")
}

// The simulated current EPP summarizes its pool as llm-d-router's at ebab687 does
// (pkg/epp/datalayer/logger refreshPrometheusMetrics and calculateSummary): the mean and
// the sample standard deviation (n-1, at least 1) of the endpoints' KV-cache
// utilization, waiting and running requests, each rounded to two decimals, written
// whenever the pool has an endpoint (one endpoint: a deviation of 0, as the live
// capture shows). The capture's average_kv_cache_utilization is 0.06 where its one
// simulator reports 0.0625.
func TestSimulatedEPPSummarizesThePoolAsTheRealOne(t *testing.T) {
	round2 := func(v float64) float64 { return math.Round(v*100) / 100 }
	for _, servers := range [][]string{{"vllm-0"}, {"vllm-0", "vllm-1", "vllm-2"}} {
		s := localcluster.NewSimulation(localcluster.SimulationOptions{
			Seed: 3, EPPPods: []string{"epp-0"}, ModelServerPods: servers,
		})
		for step := range 90 {
			s.Step()
			epp := parse(t, "epp-0", s.Exposition("epp-0"))
			for _, c := range []struct{ engine, avg, std string }{
				{"vllm:kv_cache_usage_perc", "llm_d_epp_average_kv_cache_utilization", "llm_d_epp_std_dev_kv_cache_utilization"},
				{"vllm:num_requests_waiting", "llm_d_epp_average_queue_size", "llm_d_epp_std_dev_queue_size"},
				{"vllm:num_requests_running", "llm_d_epp_average_running_requests", "llm_d_epp_std_dev_running_requests"},
			} {
				var vs []float64
				for _, pod := range servers {
					vs = append(vs, familySum(parse(t, pod, s.Exposition(pod)), c.engine))
				}
				mean, ss := 0.0, 0.0
				for _, v := range vs {
					mean += v / float64(len(vs))
				}
				for _, v := range vs {
					ss += (v - mean) * (v - mean)
				}
				std := math.Sqrt(ss / math.Max(1, float64(len(vs)-1)))
				for name, want := range map[string]float64{c.avg: round2(mean), c.std: round2(std)} {
					if epp[name] == nil {
						t.Fatalf("%d endpoints, step %d: %s not exposed", len(servers), step, name)
					}
					if got := familySum(epp, name); math.Abs(got-want) > 1e-9 {
						t.Fatalf("%d endpoints, step %d: %s = %v, want %v (from %s %v)", len(servers), step, name, got, want, c.engine, vs)
					}
				}
			}
		}
	}
}

// The simulated previous EPP (v1.2.1, pkg/epp/backend/metrics/logger.go
// refreshPrometheusMetrics) averages the pool's waiting requests in integers, as v1.2.1
// does (queueTotal/podTotalCount, both int), and its KV-cache utilization unrounded.
func TestSimulatedPreviousEPPAveragesAsV121(t *testing.T) {
	servers := []string{"vllm-0", "vllm-1", "vllm-2"}
	s := localcluster.NewSimulation(localcluster.SimulationOptions{
		Seed: 3, EPPPods: []string{"epp-0"}, ModelServerPods: servers, Generation: localcluster.Previous,
	})
	fractional := false
	for step := range 200 {
		s.Step()
		var waiting, kv float64
		for _, pod := range servers {
			f := parse(t, pod, s.Exposition(pod))
			waiting += familySum(f, "vllm:num_requests_waiting")
			kv += familySum(f, "vllm:kv_cache_usage_perc")
		}
		epp := parse(t, "epp-0", s.Exposition("epp-0"))
		n := float64(len(servers))
		fractional = fractional || math.Mod(waiting, n) != 0
		if got, want := familySum(epp, "inference_pool_average_queue_size"), math.Floor(waiting/n); got != want {
			t.Fatalf("step %d: inference_pool_average_queue_size = %v, want %v (%v waiting on %v pods, in integers)", step, got, want, waiting, n)
		}
		if got, want := familySum(epp, "inference_pool_average_kv_cache_utilization"), kv/n; math.Abs(got-want) > 1e-12 {
			t.Fatalf("step %d: inference_pool_average_kv_cache_utilization = %v, want %v", step, got, want)
		}
	}
	if !fractional {
		t.Fatal("the waiting requests always divided evenly: the test proves nothing")
	}
}
