package localcluster

import (
	"math"
	"strconv"
)

// SGLang's exposition, written from its metrics collector
// (python/sglang/srt/observability/metrics_collector.py at 016d8605e458, formerly
// python/sglang/srt/metrics/collector.py: SchedulerMetricsCollector and
// TokenizerMetricsCollector): no SGLang exposition was captured, so names, types, HELP
// and label names are the collector's (the label sets as SchedulerMetricsCollector.init_new
// and the tokenizer manager build them), values the simulation's. The token histograms,
// which the autoscaler's SGLang queries read, are written unconditionally at
// 016d8605e458 (older releases, only with --collect-tokens-histogram).
const (
	engineVLLM   = "vllm"
	engineSGLang = "sglang"
	// sglangEngineType is the engine_type of a server that both prefills and decodes
	// (DisaggregationMode.to_engine_type), on its scheduler's metrics and, in the current
	// generation, its tokenizer's.
	sglangEngineType = "unified"
	// sglangCacheSource is the cache_source of prompt tokens found in GPU memory.
	sglangCacheSource = "device"
)

// sglangMaxTotalTokens is the KV-cache pool in tokens: the same memory as a vLLM pod's.
const sglangMaxTotalTokens = vllmGPUBlocks * vllmBlockSize

// streamStats is what current SGLang counts per is_streaming value: since
// sgl-project/sglang #32363 and #32734 (2026-07) its TokenizerMetricsCollector labels
// TTFT, end-to-end latency, requests and prompt and generation tokens with it.
type streamStats struct {
	ttft, e2e                                *histogram
	promptTokens, generationTokens, requests float64
}

// streamIndex is a request's index in modelServer.byStream, whose is_streaming label is
// strconv.FormatBool(index == 1).
func streamIndex(streaming bool) int {
	if streaming {
		return 1
	}
	return 0
}

// exposeSGLang writes the server's /metrics as SGLang of generation gen does: the
// previous one before is_streaming.
func (m *modelServer) exposeSGLang(w *textWriter, gen Generation) {
	scheduler := labels("engine_type", sglangEngineType, "model_name", m.model, "moe_ep_rank", "0", "pp_rank", "0", "tp_rank", "0")
	tokenizer := labels("model_name", m.model)
	if gen == Current { // the tokenizer's metrics have engine_type since sgl-project/sglang #23978 (2026-04)
		tokenizer = append(tokenizer, label{"engine_type", sglangEngineType})
	}
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
	byStream := func(i int) []label {
		return sortLabels(append(labels("is_streaming", strconv.FormatBool(i == 1)), tokenizer...))
	}
	// counter and streamHist write a family current SGLang splits by is_streaming, a
	// series per value; the previous generation's one series is total (h).
	counter := func(name, help string, total float64, of func(*streamStats) float64) {
		if gen != Current {
			w.single(name, "counter", help, tokenizer, total)
			return
		}
		w.family(name, "counter", help)
		for i, s := range m.byStream {
			w.sample(name, byStream(i), of(s))
		}
	}
	streamHist := func(name, help string, h *histogram, of func(*streamStats) *histogram) {
		if gen != Current {
			hist(name, help, h)
			return
		}
		w.family(name, "histogram", help)
		for i, s := range m.byStream {
			w.histogram(name, byStream(i), of(s))
		}
	}
	w.single("sglang:num_running_reqs", "gauge", "The number of running requests.", scheduler, float64(len(m.running)))
	w.single("sglang:num_used_tokens", "gauge", "The number of used tokens.", scheduler, used)
	w.single("sglang:token_usage", "gauge", "The token usage.", scheduler, used/sglangMaxTotalTokens)
	w.single("sglang:gen_throughput", "gauge", "The generation throughput (token/s).", scheduler, float64(len(m.running))*vllmDecodeRate)
	w.single("sglang:num_queue_reqs", "gauge", "The number of requests in the waiting queue.", scheduler, float64(len(m.waiting)))
	w.single("sglang:cache_hit_rate", "gauge", "The prefix cache hit rate.", scheduler, hitRate)
	w.single("sglang:max_total_num_tokens", "gauge", "Maximum total number of tokens in the KV cache pool.", scheduler, sglangMaxTotalTokens)
	counter("sglang:prompt_tokens_total", "Number of prefill tokens processed.", m.promptTokens,
		func(s *streamStats) float64 { return s.promptTokens })
	counter("sglang:generation_tokens_total", "Number of generation tokens processed.", m.generationTokens,
		func(s *streamStats) float64 { return s.generationTokens })
	w.single("sglang:cached_tokens_total", "counter", "Number of cached prompt tokens by source (device/host/storage).",
		append(labels("cache_source", sglangCacheSource), tokenizer...), m.prefixHits)
	counter("sglang:num_requests_total", "Number of requests processed.", m.success[vllmFinishStop]+m.success[vllmFinishLength],
		func(s *streamStats) float64 { return s.requests })
	streamHist("sglang:time_to_first_token_seconds", "Histogram of time to first token in seconds.", m.ttft,
		func(s *streamStats) *histogram { return s.ttft })
	hist("sglang:inter_token_latency_seconds", "Histogram of inter-token latency in seconds.", m.itl)
	streamHist("sglang:e2e_request_latency_seconds", "Histogram of End-to-end request latency in seconds", m.e2e,
		func(s *streamStats) *histogram { return s.e2e })
	hist("sglang:prompt_tokens_histogram", "Histogram of prompt token length.", m.promptHist)
	hist("sglang:generation_tokens_histogram", "Histogram of generation token length.", m.generationHist)
}
