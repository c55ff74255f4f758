package llmd

import "github.com/podscrape/podscrape/source"

// ParamRetentionPeriod is the window of model_request_count, a PromQL duration ("1h").
const ParamRetentionPeriod = "retentionPeriod"

// Names of the autoscaler's queries.
const (
	KVCacheUsage        = "kv_cache_usage"
	QueueLength         = "queue_length"
	CacheConfigInfo     = "cache_config_info"
	AvgOutputTokens     = "avg_output_tokens"
	AvgInputTokens      = "avg_input_tokens"
	PrefixCacheHitRate  = "prefix_cache_hit_rate"
	SchedulerQueueSize  = "scheduler_queue_size"
	SchedulerQueueBytes = "scheduler_queue_bytes"
	ModelRequestCount   = "model_request_count"
)

const sel = `{namespace="{{.namespace}}",model_name="{{.modelID}}"}`

var nsModel = []string{source.ParamNamespace, source.ParamModelID}

// VLLMQueries returns the autoscaler's queries over vLLM's metrics, unchanged. The slice
// is the caller's.
func VLLMQueries() []source.QueryTemplate {
	return []source.QueryTemplate{
		{Name: KVCacheUsage, Type: source.QueryTypePromQL, Params: nsModel,
			Template:    `max by (pod) (max_over_time(vllm:kv_cache_usage_perc` + sel + `[1m]))`,
			Description: "KV cache usage per pod, the highest of the last minute (0-1)"},
		{Name: QueueLength, Type: source.QueryTypePromQL, Params: nsModel,
			Template:    `max by (pod) (max_over_time(vllm:num_requests_waiting` + sel + `[1m]))`,
			Description: "Requests waiting per pod, the most of the last minute"},
		{Name: CacheConfigInfo, Type: source.QueryTypePromQL, Params: nsModel,
			Template:    `max by (pod, num_gpu_blocks, block_size) (vllm:cache_config_info` + sel + `)`,
			Description: "KV cache geometry per pod, in the labels"},
		{Name: AvgOutputTokens, Type: source.QueryTypePromQL, Params: nsModel,
			Template:    `max by (pod) (rate(vllm:request_generation_tokens_sum` + sel + `[5m]) / rate(vllm:request_generation_tokens_count` + sel + `[5m]))`,
			Description: "Mean generated tokens per request over 5 minutes, per pod"},
		{Name: AvgInputTokens, Type: source.QueryTypePromQL, Params: nsModel,
			Template:    `max by (pod) (rate(vllm:request_prompt_tokens_sum` + sel + `[5m]) / rate(vllm:request_prompt_tokens_count` + sel + `[5m]))`,
			Description: "Mean prompt tokens per request over 5 minutes, per pod"},
		{Name: PrefixCacheHitRate, Type: source.QueryTypePromQL, Params: nsModel,
			Template:    `max by (pod) (rate(vllm:prefix_cache_hits` + sel + `[5m]) / rate(vllm:prefix_cache_queries` + sel + `[5m]))`,
			Description: "Prefix cache hit rate over 5 minutes, per pod (0-1)"},
		{Name: ModelRequestCount, Type: source.QueryTypePromQL, Params: append(nsModel[:2:2], ParamRetentionPeriod),
			Template:    `sum(increase(vllm:request_success_total` + sel + `[{{.retentionPeriod}}]))`,
			Description: "Requests completed over the retention period, all pods"},
	}
}

// SchedulerQueries returns the autoscaler's queries over the EPP's flow-control metrics,
// unchanged. The slice is the caller's.
func SchedulerQueries() []source.QueryTemplate {
	return []source.QueryTemplate{
		{Name: SchedulerQueueSize, Type: source.QueryTypePromQL, Params: []string{source.ParamModelID},
			Template:    `sum(inference_extension_flow_control_queue_size{target_model_name="{{.modelID}}"}) or sum(inference_extension_flow_control_queue_size{model_name="{{.modelID}}",target_model_name=""})`,
			Description: "Requests held by the EPPs' flow control for the model"},
		{Name: SchedulerQueueBytes, Type: source.QueryTypePromQL, Params: []string{source.ParamModelID},
			Template:    `sum(inference_extension_flow_control_queue_bytes{target_model_name="{{.modelID}}"}) or sum(inference_extension_flow_control_queue_bytes{model_name="{{.modelID}}",target_model_name=""})`,
			Description: "Bytes held by the EPPs' flow control for the model"},
	}
}

// Queries returns every query of the autoscaler: VLLMQueries then SchedulerQueries.
func Queries() []source.QueryTemplate {
	return append(VLLMQueries(), SchedulerQueries()...)
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
