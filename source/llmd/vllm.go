package llmd

import "github.com/podscrape/podscrape/source"

// Metric names of current vLLM releases (and llm-d's inference simulator since eec055a)
// that the vLLM queries read.
const (
	VLLMKVCacheUsage        = "vllm:kv_cache_usage_perc"
	VLLMRequestsWaiting     = "vllm:num_requests_waiting"
	VLLMCacheConfigInfo     = "vllm:cache_config_info"
	VLLMGenerationTokens    = "vllm:request_generation_tokens" // histogram
	VLLMPromptTokens        = "vllm:request_prompt_tokens"     // histogram
	VLLMPrefixCacheHits     = "vllm:prefix_cache_hits_total"
	VLLMPrefixCacheQueries  = "vllm:prefix_cache_queries_total"
	VLLMTimeToFirstToken    = "vllm:time_to_first_token_seconds" // histogram
	VLLMInterTokenLatency   = "vllm:inter_token_latency_seconds" // histogram
	VLLMRequestSuccessTotal = "vllm:request_success_total"
)

// VLLMQueries returns the autoscaler's engine queries over vLLM's metrics, under their
// bare names (see the name constants for how each differs from upstream's text). The
// slice is the caller's.
func VLLMQueries() []source.QueryTemplate {
	return []source.QueryTemplate{
		{Name: KVCacheUsage, Type: source.QueryTypePromQL, Params: nsModelParams(),
			Template:    peak(VLLMKVCacheUsage),
			Description: "Peak KV cache utilization per instance (0.0-1.0) over last minute"},
		{Name: QueueLength, Type: source.QueryTypePromQL, Params: nsModelParams(),
			Template:    peak(VLLMRequestsWaiting),
			Description: "Peak queue length per instance over last minute"},
		{Name: CacheConfigInfo, Type: source.QueryTypePromQL, Params: params(source.ParamNamespace),
			Template:    `max by (instance, pod, llm_d_ai_variant, num_gpu_blocks, block_size) (` + VLLMCacheConfigInfo + `{namespace="{{.namespace}}"})`,
			Description: "KV cache configuration info per instance (num_gpu_blocks and block_size as labels)"},
		{Name: AvgOutputTokens, Type: source.QueryTypePromQL, Params: nsModelParams(),
			Template:    ratio(VLLMGenerationTokens+"_sum", VLLMGenerationTokens+"_count", "5m"),
			Description: "Average output tokens per completed request (5m rate)"},
		{Name: AvgInputTokens, Type: source.QueryTypePromQL, Params: nsModelParams(),
			Template:    ratio(VLLMPromptTokens+"_sum", VLLMPromptTokens+"_count", "5m"),
			Description: "Average input tokens per completed request (5m rate)"},
		{Name: PrefixCacheHitRate, Type: source.QueryTypePromQL, Params: nsModelParams(),
			Template:    ratio(VLLMPrefixCacheHits, VLLMPrefixCacheQueries, "5m"),
			Description: "Prefix cache hit rate per instance (0.0-1.0, 5m rate)"},
		{Name: AvgTTFT, Type: source.QueryTypePromQL, Params: nsModelParams(),
			Template:    ratio(VLLMTimeToFirstToken+"_sum", VLLMTimeToFirstToken+"_count", "1m"),
			Description: "Average time-to-first-token per instance (seconds)"},
		{Name: AvgITL, Type: source.QueryTypePromQL, Params: nsModelParams(),
			Template:    ratio(VLLMInterTokenLatency+"_sum", VLLMInterTokenLatency+"_count", "1m"),
			Description: "Average inter-token latency per instance (seconds)"},
		{Name: GenerationTokenRate, Type: source.QueryTypePromQL, Params: nsModelParams(),
			Template:    sumRate(VLLMGenerationTokens + "_sum"),
			Description: "Observed generation (decode) token rate per pod (tokens/sec)"},
		{Name: KVUsageInstant, Type: source.QueryTypePromQL, Params: nsModelParams(),
			Template:    instant(VLLMKVCacheUsage),
			Description: "Instantaneous KV cache utilization per pod (0.0-1.0)"},
		{Name: RequestRate, Type: source.QueryTypePromQL, Params: nsModelParams(),
			Template:    sumRate(VLLMGenerationTokens + "_count"),
			Description: "vLLM request completion rate per pod (req/s)"},
		{Name: ModelRequestCount, Type: source.QueryTypePromQL, Params: params(source.ParamNamespace, source.ParamModelID, ParamRetentionPeriod),
			Template:    requestCount(VLLMRequestSuccessTotal),
			Description: "Total successful requests for a model over the retention period"},
	}
}
