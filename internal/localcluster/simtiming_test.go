package localcluster_test

import (
	"testing"

	"github.com/podscrape/podscrape/internal/localcluster"
)

// The simulated model servers observe a request's time to first token (and vLLM its
// prefill time) when its first token comes, and its inter-token latencies as its tokens
// come, not all when it finishes: the llm-d simulator at eec055a (its capture,
// testdata/vllm-sim-eec055a-live.txt: 6 TTFT and prefill observations and 63 inter-token
// ones for 4 finished requests of 16 tokens and 2 running), vLLM (its iteration stats)
// and SGLang (the tokenizer manager's first-token and per-chunk observations) all do. A
// query over the last minute (avg_ttft, avg_itl) sees a request that is decoding.
func TestSimulatedServersObserveTokensAsTheyCome(t *testing.T) {
	for _, tc := range []struct{ pod, ttft, itl, e2e, prefill string }{
		{"vllm-0", "vllm:time_to_first_token_seconds", "vllm:inter_token_latency_seconds",
			"vllm:e2e_request_latency_seconds", "vllm:request_prefill_time_seconds"},
		{"sglang-0", "sglang:time_to_first_token_seconds", "sglang:inter_token_latency_seconds",
			"sglang:e2e_request_latency_seconds", ""},
	} {
		t.Run(tc.pod, func(t *testing.T) {
			s := localcluster.NewSimulation(localcluster.SimulationOptions{
				Seed: 3, EPPPods: []string{"epp-0"}, ModelServerPods: []string{"vllm-0"}, SGLangPods: []string{"sglang-0"},
			})
			var ttftAhead, itlAhead bool
			var lastITL, lastE2E float64
			for step := range 120 {
				s.Step()
				f := parse(t, tc.pod, s.Exposition(tc.pod))
				ttft, itl, e2e := familySum(f, tc.ttft), familySum(f, tc.itl), familySum(f, tc.e2e)
				if ttft < e2e {
					t.Fatalf("step %d: %s counts %v, fewer than the %v finished requests", step, tc.ttft, ttft, e2e)
				}
				if tc.prefill != "" {
					if p := familySum(f, tc.prefill); p != ttft {
						t.Fatalf("step %d: %s counts %v, want one per first token (%v)", step, tc.prefill, p, ttft)
					}
				}
				ttftAhead = ttftAhead || ttft > e2e
				itlAhead = itlAhead || (itl > lastITL && e2e == lastE2E)
				lastITL, lastE2E = itl, e2e
			}
			if !ttftAhead || !itlAhead {
				t.Errorf("in 120 steps: TTFT ahead of finished requests %v, inter-token latencies growing while none finished %v: want both",
					ttftAhead, itlAhead)
			}
		})
	}
}
