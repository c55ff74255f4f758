package llmd

import "github.com/podscrape/podscrape/source"

// Metric names of SGLang (python/sglang/srt/observability/metrics_collector.py, formerly
// python/sglang/srt/metrics/collector.py) that the SGLang queries read. Current SGLang
// labels some with is_streaming, "true" or "false" (sgl-project/sglang #32363, #32734).
const (
	SGLangTokenUsage        = "sglang:token_usage"
	SGLangQueueRequests     = "sglang:num_queue_reqs"
	SGLangMaxTotalTokens    = "sglang:max_total_num_tokens"
	SGLangGenerationTokens  = "sglang:generation_tokens_histogram" // histogram
	SGLangPromptTokens      = "sglang:prompt_tokens_histogram"     // histogram
	SGLangCachedTokensTotal = "sglang:cached_tokens_total"         // labelled cache_source
	SGLangPromptTokensTotal = "sglang:prompt_tokens_total"         // labelled is_streaming
	SGLangTimeToFirstToken  = "sglang:time_to_first_token_seconds" // histogram, labelled is_streaming: see AvgTTFT
	SGLangInterTokenLatency = "sglang:inter_token_latency_seconds" // histogram
	SGLangRequestsTotal     = "sglang:num_requests_total"          // labelled is_streaming
)

// SGLangQueries returns the SGLang variants of the autoscaler's engine queries, named
// EngineQuery(EngineSGLang, name) as upstream names them ("sglang/kv_cache_usage"). The
// slice is the caller's.
func SGLangQueries() []source.QueryTemplate {
	q := func(name, template, description string, ps ...string) source.QueryTemplate {
		return source.QueryTemplate{Name: EngineQuery(EngineSGLang, name), Type: source.QueryTypePromQL,
			Params: params(ps...), Template: template, Description: description + " (SGLang)"}
	}
	ns, model := source.ParamNamespace, source.ParamModelID
	return []source.QueryTemplate{
		q(KVCacheUsage, peak(SGLangTokenUsage), "Peak KV cache utilization per instance (0.0-1.0) over last minute", ns, model),
		q(QueueLength, peak(SGLangQueueRequests), "Peak queue length per instance over last minute", ns, model),
		q(CacheConfigInfo, instant(SGLangMaxTotalTokens), "Total KV cache token capacity per instance", ns, model),
		q(AvgOutputTokens, ratio(SGLangGenerationTokens+"_sum", SGLangGenerationTokens+"_count", "5m"),
			"Average output tokens per completed request (5m rate)", ns, model),
		q(AvgInputTokens, ratio(SGLangPromptTokens+"_sum", SGLangPromptTokens+"_count", "5m"),
			"Average input tokens per completed request (5m rate)", ns, model),
		q(PrefixCacheHitRate, `sum by `+perInstance+` (rate(`+SGLangCachedTokensTotal+nsModel+`[5m])) / sum by `+perInstance+` (rate(`+SGLangPromptTokensTotal+nsModel+`[5m]))`,
			"Prefix cache hit rate per instance (0.0-1.0, 5m rate)", ns, model),
		q(AvgTTFT, ratio(SGLangTimeToFirstToken+"_sum", SGLangTimeToFirstToken+"_count", "1m"),
			"Average time-to-first-token per instance (seconds)", ns, model),
		q(AvgITL, ratio(SGLangInterTokenLatency+"_sum", SGLangInterTokenLatency+"_count", "1m"),
			"Average inter-token latency per instance (seconds)", ns, model),
		q(GenerationTokenRate, sumRate(SGLangGenerationTokens+"_sum"), "Observed generation (decode) token rate per pod (tokens/sec)", ns, model),
		q(KVUsageInstant, instant(SGLangTokenUsage), "Instantaneous KV cache utilization per pod (0.0-1.0)", ns, model),
		q(RequestRate, sumRate(SGLangGenerationTokens+"_count"), "Request completion rate per pod (req/s)", ns, model),
		q(ModelRequestCount, requestCount(SGLangRequestsTotal), "Total requests for a model over the retention period", ns, model, ParamRetentionPeriod),
	}
}
