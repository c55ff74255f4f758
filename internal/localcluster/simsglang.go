package localcluster

import "math"

// SGLang's exposition, written from its metrics collector
// (python/sglang/srt/metrics/collector.py: SchedulerMetricsCollector and
// TokenizerMetricsCollector): no SGLang exposition was captured, so names, types, HELP
// and label names are the collector's, values the simulation's. The token histograms
// are those SGLang writes with --collect-tokens-histogram, which the autoscaler's SGLang
// queries read.
const (
	engineVLLM   = "vllm"
	engineSGLang = "sglang"
	// sglangEngineType is the scheduler metrics' engine_type of a server that both
	// prefills and decodes.
	sglangEngineType = "unified"
	// sglangCacheSource is the cache_source of prompt tokens found in GPU memory.
	sglangCacheSource = "device"
)

// sglangMaxTotalTokens is the KV-cache pool in tokens: the same memory as a vLLM pod's.
const sglangMaxTotalTokens = vllmGPUBlocks * vllmBlockSize

// exposeSGLang writes the server's /metrics as SGLang does.
func (m *modelServer) exposeSGLang(w *textWriter) {
	scheduler := labels("engine_type", sglangEngineType, "model_name", m.model, "pp_rank", "0", "tp_rank", "0")
	tokenizer := labels("model_name", m.model)
	used := 0.0
	for _, r := range m.running {
		used += float64(r.promptTokens) + r.generated
	}
	used = math.Min(used, sglangMaxTotalTokens)
	hitRate := 0.0
	if m.prefixQueries > 0 {
		hitRate = m.prefixHits / m.prefixQueries
	}
	hist := func(name, help string, h *histogram) {
		w.family(name, "histogram", help)
		w.histogram(name, tokenizer, h)
	}
	w.single("sglang:num_running_reqs", "gauge", "The number of running requests.", scheduler, float64(len(m.running)))
	w.single("sglang:num_used_tokens", "gauge", "The number of used tokens.", scheduler, used)
	w.single("sglang:token_usage", "gauge", "The token usage.", scheduler, used/sglangMaxTotalTokens)
	w.single("sglang:gen_throughput", "gauge", "The generation throughput (token/s).", scheduler, float64(len(m.running))*vllmDecodeRate)
	w.single("sglang:num_queue_reqs", "gauge", "The number of requests in the waiting queue.", scheduler, float64(len(m.waiting)))
	w.single("sglang:cache_hit_rate", "gauge", "The prefix cache hit rate.", scheduler, hitRate)
	w.single("sglang:max_total_num_tokens", "gauge", "Maximum total number of tokens in the KV cache pool.", scheduler, sglangMaxTotalTokens)
	w.single("sglang:prompt_tokens_total", "counter", "Number of prefill tokens processed.", tokenizer, m.promptTokens)
	w.single("sglang:generation_tokens_total", "counter", "Number of generation tokens processed.", tokenizer, m.generationTokens)
	w.single("sglang:cached_tokens_total", "counter", "Number of cached prompt tokens by source (device/host/storage).",
		append(labels("cache_source", sglangCacheSource), tokenizer...), m.prefixHits)
	w.single("sglang:num_requests_total", "counter", "Number of requests processed.", tokenizer, m.success[vllmFinishStop]+m.success[vllmFinishLength])
	hist("sglang:time_to_first_token_seconds", "Histogram of time to first token in seconds.", m.ttft)
	hist("sglang:inter_token_latency_seconds", "Histogram of inter-token latency in seconds.", m.itl)
	hist("sglang:e2e_request_latency_seconds", "Histogram of End-to-end request latency in seconds", m.e2e)
	hist("sglang:prompt_tokens_histogram", "Histogram of prompt token length.", m.promptHist)
	hist("sglang:generation_tokens_histogram", "Histogram of generation token length.", m.generationHist)
}
