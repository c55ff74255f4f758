package localcluster_test

import (
	"bytes"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/podscrape/podscrape/internal/localcluster"
)

func newSim(seed uint64) *localcluster.Simulation {
	return localcluster.NewSimulation(localcluster.SimulationOptions{
		Seed:                seed,
		EPPPods:             []string{"epp-0", "epp-1"},
		ModelServerPods:     []string{"vllm-0", "vllm-1"},
		IdleModelServerPods: []string{"vllm-idle"},
	})
}

// parse parses an exposition with Prometheus' own parser.
func parse(t *testing.T, what string, body []byte) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("parse %s: %v", what, err)
	}
	return families
}

// value returns the value of the first series of family name.
func value(t *testing.T, families map[string]*dto.MetricFamily, name string) float64 {
	t.Helper()
	f := families[name]
	if f == nil || len(f.Metric) == 0 {
		t.Fatalf("family %s: missing", name)
	}
	m := f.Metric[0]
	switch {
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	}
	t.Fatalf("family %s: not a gauge, counter or histogram", name)
	return 0
}

func TestSimulationSameSeedSameExpositions(t *testing.T) {
	a, b, c := newSim(7), newSim(7), newSim(8)
	for range 40 {
		a.Step()
		b.Step()
		c.Step()
	}
	differ := false
	for _, pod := range []string{"epp-0", "epp-1", "vllm-0", "vllm-1", "vllm-idle"} {
		if !bytes.Equal(a.Exposition(pod), b.Exposition(pod)) {
			t.Fatalf("pod %s: two simulations with seed 7 differ after 40 steps", pod)
		}
		differ = differ || !bytes.Equal(a.Exposition(pod), c.Exposition(pod))
	}
	if !differ {
		t.Fatal("seeds 7 and 8: got identical expositions, want the seed to matter")
	}
	if got := a.Steps(); got != 40 {
		t.Fatalf("Steps: got %d, want 40", got)
	}
}

func TestSimulationValuesMoveUnderLoad(t *testing.T) {
	s := newSim(1)
	seen := map[string]map[float64]bool{}
	watch := map[string][]string{
		"epp-0":     {"inference_objective_request_total", "inference_objective_running_requests", "inference_pool_average_kv_cache_utilization"},
		"vllm-0":    {"vllm:num_requests_running", "vllm:kv_cache_usage_perc", "vllm:e2e_request_latency_seconds"},
		"vllm-idle": {"vllm:num_requests_running"},
	}
	var lastTotal float64
	for step := range 60 {
		s.Step()
		for pod, names := range watch {
			families := parse(t, pod, s.Exposition(pod))
			for _, n := range names {
				key := pod + " " + n
				if seen[key] == nil {
					seen[key] = map[float64]bool{}
				}
				seen[key][value(t, families, n)] = true
			}
			if pod == "epp-0" {
				total := value(t, families, "inference_objective_request_total")
				if total < lastTotal {
					t.Fatalf("step %d: inference_objective_request_total went down from %v to %v", step, lastTotal, total)
				}
				lastTotal = total
			}
		}
	}
	for key, values := range seen {
		moving := len(values) > 2
		if strings.HasPrefix(key, "vllm-idle") {
			if moving || len(values) != 1 {
				t.Errorf("%s: got values %v, want one constant value (the pod takes no load)", key, slices.Collect(maps.Keys(values)))
			}
			continue
		}
		if !moving {
			t.Errorf("%s: got values %v over 60 steps, want them to move", key, slices.Collect(maps.Keys(values)))
		}
	}
}

// TestSimulationFollowsTheRealFixtures checks the simulated EPP and vLLM of each
// generation against the expositions captured from the real programs: every family of a
// fixture with the prefixes is simulated with the same type, HELP and label names (but
// the labels real vLLM adds and the simulator that produced the fixture lacks, and the
// EPP families the simulation does not model), and a histogram with the same bucket
// bounds: a consumer's quantiles read those.
func TestSimulationFollowsTheRealFixtures(t *testing.T) {
	for _, tc := range []struct {
		gen       localcluster.Generation
		fixture   string
		pod       string
		prefixes  []string
		extra     []string        // label names the simulation adds
		unmodeled map[string]bool // families of the fixture not simulated
	}{
		{localcluster.Previous, "epp-metrics.txt", "epp-0", []string{"inference_"}, nil, nil},
		{localcluster.Previous, "vllm-sim-metrics.txt", "vllm-0", []string{"vllm:"}, nil, nil},
		{localcluster.Current, "llm-d-epp-ebab687-live.txt", "epp-0", []string{"inference_", "llm_d_epp_"}, nil, eppUnmodeled},
		// The fixture's simulator exposes no engine label and two cache config fields;
		// vLLM itself labels its series with engine and cache_config_info with every
		// CacheConfig field. time_per_output_token_seconds is gone from vLLM.
		{localcluster.Current, "vllm-sim-eec055a-metrics.txt", "vllm-0", []string{"vllm:"},
			[]string{"engine", "cache_dtype", "enable_prefix_caching", "gpu_memory_utilization"},
			map[string]bool{"vllm:time_per_output_token_seconds": true}},
	} {
		t.Run(tc.gen.String()+"/"+tc.pod, func(t *testing.T) {
			s := localcluster.NewSimulation(localcluster.SimulationOptions{
				Seed: 3, EPPPods: []string{"epp-0", "epp-1"}, ModelServerPods: []string{"vllm-0", "vllm-1"},
				IdleModelServerPods: []string{"vllm-idle"}, Generation: tc.gen,
			})
			for range 30 {
				s.Step()
			}
			body, err := os.ReadFile(filepath.Join("..", "..", "testdata", tc.fixture))
			if err != nil {
				t.Fatal(err)
			}
			real := parse(t, tc.fixture, body)
			sim := parse(t, tc.pod, s.Exposition(tc.pod))
			for name, rf := range real {
				if !slices.ContainsFunc(tc.prefixes, func(p string) bool { return strings.HasPrefix(name, p) }) || tc.unmodeled[name] {
					continue
				}
				sf := sim[name]
				if sf == nil {
					t.Errorf("family %s: in %s, not simulated", name, tc.fixture)
					continue
				}
				if sf.GetType() != rf.GetType() || sf.GetHelp() != rf.GetHelp() {
					t.Errorf("family %s: got %v %q, want %v %q", name, sf.GetType(), sf.GetHelp(), rf.GetType(), rf.GetHelp())
				}
				got := slices.DeleteFunc(labelNames(sf), func(l string) bool { return slices.Contains(tc.extra, l) })
				if want := labelNames(rf); !slices.Equal(got, want) {
					t.Errorf("family %s: got label names %v, want %v", name, got, want)
				}
				if rf.GetType() == dto.MetricType_HISTOGRAM {
					want := bucketBounds(rf.Metric[0])
					for _, m := range sf.Metric {
						if got := bucketBounds(m); !slices.Equal(got, want) {
							t.Errorf("family %s: got le %v, want %v", name, got, want)
							break
						}
					}
				}
			}
			for name := range sim {
				if real[name] == nil && slices.ContainsFunc(tc.prefixes, func(p string) bool { return strings.HasPrefix(name, p) }) && !simulatedBeyondFixture[name] {
					t.Errorf("family %s: simulated, not in %s", name, tc.fixture)
				}
			}
		})
	}
}

// eppUnmodeled are the current EPP's families the simulation does not model: internal
// timings of flow control and request processing no query reads.
var eppUnmodeled = map[string]bool{
	"inference_extension_flow_control_dispatch_cycle_duration_seconds":  true,
	"inference_extension_flow_control_request_enqueue_duration_seconds": true,
	"inference_objective_normalized_time_per_output_token_seconds":      true,
	"llm_d_epp_flow_control_capacity_utilization_bytes":                 true,
	"llm_d_epp_flow_control_capacity_utilization_requests":              true,
	"llm_d_epp_flow_control_dispatch_cycle_duration_seconds":            true,
	"llm_d_epp_flow_control_request_enqueue_duration_seconds":           true,
	"llm_d_epp_flow_control_stale_endpoints":                            true,
	"llm_d_epp_request_ntpot_seconds":                                   true,
	"llm_d_epp_request_processing_duration_seconds":                     true,
	"llm_d_epp_request_ttft_seconds":                                    true,
	"llm_d_epp_response_processing_duration_seconds":                    true,
}

// simulatedBeyondFixture are families the simulation writes that the fixture lacks only
// because nothing made them appear during its capture (a vector with no children is
// not exposed): request errors, and, in the previous EPP's capture taken without flow
// control, the flow-control families (v1.2.1 has no queue bytes).
var simulatedBeyondFixture = map[string]bool{
	"inference_extension_flow_control_queue_size":                     true,
	"inference_extension_flow_control_request_queue_duration_seconds": true,
	"inference_objective_request_error_total":                         true,
	"llm_d_epp_request_error_total":                                   true,
}

// bucketBounds returns the upper bounds of a histogram series' buckets, +Inf included.
func bucketBounds(m *dto.Metric) []float64 {
	var out []float64
	for _, b := range m.GetHistogram().GetBucket() {
		out = append(out, b.GetUpperBound())
	}
	return out
}

func labelNames(f *dto.MetricFamily) []string {
	set := map[string]bool{}
	for _, m := range f.Metric {
		for _, l := range m.Label {
			set[l.GetName()] = true
		}
	}
	return slices.Sorted(maps.Keys(set))
}
