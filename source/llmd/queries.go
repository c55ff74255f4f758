package llmd

import "github.com/podscrape/podscrape/source"

// ParamRetentionPeriod is the window of model_request_count, a PromQL duration ("1h").
const ParamRetentionPeriod = "retentionPeriod"

// VariantLabel is the pod label naming a pod's variant (its VariantAutoscaling). The
// autoscaler's per-pod queries group by the label Prometheus maps it to,
// llm_d_ai_variant; a PodScrapingSource gives it when PodScrapingSourceConfig.PodLabels
// names it (see PodLabels).
const VariantLabel = "llm-d.ai/variant"

// PodLabels returns the pod labels llm-d's queries read, for
// PodScrapingSourceConfig.PodLabels: VariantLabel. The slice is the caller's.
func PodLabels() []string { return []string{VariantLabel} }

// Names of the autoscaler's queries, as upstream (llm-d-autoscaling, module
// github.com/llm-d/llm-d-workload-variant-autoscaler, internal/collector/registration)
// registers them. The vLLM queries carry these bare names; their SGLang variants carry
// EngineQuery(EngineSGLang, name), "sglang/<name>". The scheduler queries (the EPP's) are
// the same for every engine.
const (
	// KVCacheUsage is upstream's kv_cache_usage (saturation.go), unchanged: the highest
	// KV-cache utilization (0-1) of the last minute, per instance. vLLM
	// vllm:kv_cache_usage_perc, SGLang sglang:token_usage.
	KVCacheUsage = "kv_cache_usage"
	// QueueLength is upstream's queue_length (saturation.go), unchanged: the most
	// requests waiting in the last minute, per instance. vLLM vllm:num_requests_waiting,
	// SGLang sglang:num_queue_reqs.
	QueueLength = "queue_length"
	// CacheConfigInfo is upstream's cache_config_info (saturation.go), unchanged. vLLM:
	// the KV-cache geometry in the labels num_gpu_blocks and block_size of
	// vllm:cache_config_info, which carries no model_name (its labels are the cache
	// config fields and engine), so it takes only ParamNamespace; a caller correlates it
	// to a model's pods by instance. SGLang: the capacity in tokens as the value,
	// sglang:max_total_num_tokens, which does carry model_name.
	CacheConfigInfo = "cache_config_info"
	// AvgOutputTokens is upstream's avg_output_tokens (saturation.go), unchanged: mean
	// generated tokens per completed request over 5 minutes, per instance. vLLM
	// vllm:request_generation_tokens, SGLang sglang:generation_tokens_histogram.
	AvgOutputTokens = "avg_output_tokens"
	// AvgInputTokens is upstream's avg_input_tokens (saturation.go), unchanged: mean
	// prompt tokens per completed request over 5 minutes, per instance. vLLM
	// vllm:request_prompt_tokens, SGLang sglang:prompt_tokens_histogram.
	AvgInputTokens = "avg_input_tokens"
	// PrefixCacheHitRate is upstream's prefix_cache_hit_rate (saturation.go): the share of
	// prompt tokens found in the prefix cache over 5 minutes, per instance (0-1).
	//
	// vLLM: differs from upstream. Upstream's text (llm-d-autoscaling 3300e6f) reads
	// vllm:prefix_cache_hits and vllm:prefix_cache_queries, names vLLM exposes only with
	// _total since its counters moved to the Prometheus naming (vLLM and llm-d's
	// simulator since eec055a: vllm:prefix_cache_hits_total), so upstream's query matches
	// nothing and answers empty (upstream #1526). This one reads the _total names,
	// which is what upstream's fix reads too.
	//
	// SGLang: unchanged, cached prompt tokens over prompt tokens, each side summed per
	// instance first because the two carry different labels (sglang:cached_tokens_total
	// cache_source, current SGLang's sglang:prompt_tokens_total is_streaming).
	PrefixCacheHitRate = "prefix_cache_hit_rate"
	// AvgTTFT is upstream's avg_ttft (queueing_model.go), unchanged: mean time to first
	// token over 1 minute, per instance, in seconds. vLLM
	// vllm:time_to_first_token_seconds, SGLang sglang:time_to_first_token_seconds.
	//
	// On current SGLang it is not the instance's mean: since sgl-project/sglang #32363
	// and #32734 (2026-07) the histogram has a series per is_streaming value, and the
	// query divides the rates series by series before its max by instance, so an
	// instance serving both kinds of requests answers the larger of the streaming and
	// the non-streaming mean (100 streaming requests of 0.1 s and 10 non-streaming of
	// 2 s: 2, not 0.27). Kept as upstream has it; summing each side per instance before
	// dividing, as PrefixCacheHitRate does, would give the instance's mean.
	AvgTTFT = "avg_ttft"
	// AvgITL is upstream's avg_itl (queueing_model.go), unchanged: mean inter-token
	// latency over 1 minute, per instance, in seconds. vLLM
	// vllm:inter_token_latency_seconds (vLLM's old time_per_output_token_seconds is gone
	// from current releases), SGLang sglang:inter_token_latency_seconds.
	AvgITL = "avg_itl"
	// GenerationTokenRate is upstream's generation_token_rate (throughput_analyzer.go),
	// unchanged: generated tokens per second over 1 minute, summed per instance. vLLM
	// vllm:request_generation_tokens_sum, SGLang sglang:generation_tokens_histogram_sum.
	GenerationTokenRate = "generation_token_rate"
	// KVUsageInstant is upstream's kv_usage_instant (throughput_analyzer.go), unchanged:
	// the KV-cache utilization now (no max_over_time), per instance.
	KVUsageInstant = "kv_usage_instant"
	// RequestRate is upstream's request_rate (throughput_analyzer.go), unchanged:
	// completed requests per second over 1 minute, summed per instance, from the
	// generation-token histogram's _count.
	RequestRate = "request_rate"
	// ModelRequestCount is upstream's model_request_count (scale_to_zero.go), unchanged:
	// requests over the retention period (ParamRetentionPeriod), all pods. vLLM
	// vllm:request_success_total, SGLang sglang:num_requests_total: both count a request
	// when it finishes (SGLang's TokenizerMetricsCollector.observe_one_finished_request;
	// its aborted requests go to sglang:num_aborted_requests_total instead), although
	// upstream's comment calls SGLang's the received-request counter. On either engine a
	// request still running, or one finishing after the window, is not in the count.
	ModelRequestCount = "model_request_count"

	// SchedulerQueueSize is upstream's scheduler_queue_size (saturation.go, epp.go),
	// unchanged: requests held in the EPPs' flow control for the model, current name
	// llm_d_epp_flow_control_queue_size or, per series, the legacy
	// inference_extension_flow_control_queue_size (so an EPP emitting both counts once,
	// and a fleet mid-upgrade counts every EPP); target_model_name first, model_name of
	// series without one second. Takes only ParamModelID: the EPP labels no namespace.
	// An EPP of the Gateway API Inference Extension before v1.3.0 labels its queue by
	// fairness_id and priority only: there the query (as upstream's) answers nothing,
	// which is not an empty queue.
	SchedulerQueueSize = "scheduler_queue_size"
	// SchedulerQueueBytes is upstream's scheduler_queue_bytes, unchanged: as
	// SchedulerQueueSize, in bytes (llm_d_epp_flow_control_queue_bytes; the Gateway API
	// Inference Extension's EPP has it since v1.4.0).
	SchedulerQueueBytes = "scheduler_queue_bytes"
	// SchedulerDispatchRate is upstream's scheduler_dispatch_rate (queueing_model.go,
	// epp.go), unchanged: successful scheduling attempts per second over 1 minute, per
	// pod_name, port and namespace: llm_d_epp_scheduler_attempts_total with its
	// endpoint_name copied to pod_name, or (ignoring endpoint_name) the legacy
	// inference_extension_scheduler_attempts_total, which says pod_name. Its namespace
	// matcher reads the label the series carries: with a scraper's honor_labels: false
	// (Prometheus' default, and a PodScrapingSource) that is the EPP pod's namespace, the
	// EPP's own being kept as exported_namespace. The Gateway API Inference Extension's
	// EPP labels its attempts by endpoint and model only since v1.5.0 (v1.3.0 and
	// v1.4.0: by status only; v1.2.1: none): before, this query and ModelArrivalRate
	// answer nothing, which is not an idle model.
	SchedulerDispatchRate = "scheduler_dispatch_rate"
	// ModelArrivalRate is upstream's model_arrival_rate (throughput_analyzer.go),
	// unchanged: the model's requests dispatched per second, summed by namespace, from
	// the same current-or-legacy attempts as SchedulerDispatchRate.
	ModelArrivalRate = "model_arrival_rate"
)

// Engine is an inference engine with its own variants of the engine queries.
type Engine string

// The engines upstream registers queries for.
const (
	EngineVLLM   Engine = "vllm"
	EngineSGLang Engine = "sglang"
)

// EngineQuery returns the registered name of query for engine, as upstream's
// registration.EngineQuery does: vLLM's queries, and the scheduler queries of every
// engine, keep the bare name; another engine's variant of an engine query is
// "<engine>/<query>" ("sglang/kv_cache_usage").
func EngineQuery(engine Engine, query string) string {
	if engine == EngineVLLM || !isEngineQuery(query) {
		return query
	}
	return string(engine) + "/" + query
}

// EngineQueries returns the names of the queries with a variant per engine (upstream's
// EngineSpecificQueries). The slice is the caller's.
func EngineQueries() []string {
	return []string{KVCacheUsage, QueueLength, CacheConfigInfo, AvgOutputTokens, AvgInputTokens,
		PrefixCacheHitRate, AvgTTFT, AvgITL, GenerationTokenRate, KVUsageInstant, RequestRate, ModelRequestCount}
}

func isEngineQuery(q string) bool {
	for _, e := range EngineQueries() {
		if e == q {
			return true
		}
	}
	return false
}

// Queries returns every query of the autoscaler: VLLMQueries, SGLangQueries, then
// SchedulerQueries. The slice is the caller's.
func Queries() []source.QueryTemplate {
	qs := append(VLLMQueries(), SGLangQueries()...)
	return append(qs, SchedulerQueries()...)
}

// Register registers qs on l, stopping at the first error (a name already registered).
func Register(l *source.QueryList, qs []source.QueryTemplate) error {
	for _, q := range qs {
		if err := l.Register(q); err != nil {
			return err
		}
	}
	return nil
}

// Selector pieces of the engine queries.
const (
	// perInstance is the grouping of upstream's per-pod queries: instance tells two
	// engines of one pod apart, llm_d_ai_variant maps a pod to its variant.
	perInstance = `(instance, pod, llm_d_ai_variant)`
	nsModel     = `{namespace="{{.namespace}}",model_name="{{.modelID}}"}`
)

// nsModelParams are the params of the queries reading nsModel; a new slice each call.
func nsModelParams() []string { return []string{source.ParamNamespace, source.ParamModelID} }

// params returns a fresh copy of ps, so no two templates share a backing array.
func params(ps ...string) []string { return append([]string(nil), ps...) }

// ratio is `max by (instance, pod, llm_d_ai_variant) (rate(num[w]) / rate(den[w]))`.
func ratio(num, den, window string) string {
	return `max by ` + perInstance + ` (rate(` + num + nsModel + `[` + window + `]) / rate(` + den + nsModel + `[` + window + `]))`
}

// sumRate is `sum by (instance, pod, llm_d_ai_variant) (rate(counter[1m]))`.
func sumRate(counter string) string {
	return `sum by ` + perInstance + ` (rate(` + counter + nsModel + `[1m]))`
}

// peak is `max by (instance, pod, llm_d_ai_variant) (max_over_time(gauge[1m]))`.
func peak(gauge string) string {
	return `max by ` + perInstance + ` (max_over_time(` + gauge + nsModel + `[1m]))`
}

// instant is `max by (instance, pod, llm_d_ai_variant) (gauge)`.
func instant(gauge string) string {
	return `max by ` + perInstance + ` (` + gauge + nsModel + `)`
}

// requestCount is `sum(increase(counter[retentionPeriod]))`.
func requestCount(counter string) string {
	return `sum(increase(` + counter + nsModel + `[{{.` + ParamRetentionPeriod + `}}]))`
}
