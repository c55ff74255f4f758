package localcluster

// Generation selects which release of the real programs the simulated pods expose the
// metrics of: names, types, HELP and labels.
type Generation int

const (
	// Current is today's programs, and the default. vLLM as current releases and llm-d's
	// inference simulator since eec055a expose it: counters with _total
	// (vllm:prefix_cache_hits_total), an engine label beside model_name,
	// vllm:cache_config_info labelled with cache config fields and engine (no
	// model_name), vllm:inter_token_latency_seconds and no time_per_output_token_seconds.
	// The EPP as llm-d-router's at ebab687: llm_d_epp_* families beside the deprecated
	// inference_extension_* / inference_objective_* / inference_pool_* twins, whose HELP
	// says "[Deprecated: Use llm_d_epp_...]"; scheduler attempts naming the pod
	// endpoint_name (the legacy twin pod_name). SGLang as its metrics collector defines
	// its sglang:* set at 016d8605e458: TTFT, end-to-end latency, requests and prompt
	// and generation tokens split by is_streaming.
	Current Generation = iota
	// Previous is the programs of early 2026, for testing fallbacks: vLLM as llm-d's
	// simulator v0.10.2 (vllm:prefix_cache_hits without _total,
	// time_per_output_token_seconds, no engine label), the Gateway API Inference
	// Extension's EPP v1.2.1 (inference_extension_* names only, no scheduler attempts,
	// its flow-control queue size labelled fairness_id and priority only, no queue
	// bytes) and SGLang before is_streaming (added 2026-07).
	Previous
)

// String names the generation.
func (g Generation) String() string {
	if g == Previous {
		return "previous"
	}
	return "current"
}
