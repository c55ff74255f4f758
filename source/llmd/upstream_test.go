package llmd_test

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/podscrape/podscrape/source/llmd"
)

// upstreamQueries are the queries llm-d-autoscaling registers today
// (internal/collector/registration: saturation.go, queueing_model.go,
// throughput_analyzer.go, scale_to_zero.go; engine.go names the SGLang variants), written
// out by hand from upstream's text rather than from this package's constants, so a
// renamed constant or a param added or dropped fails here: an autoscaler asks for these
// names with these params.
var upstreamQueries = map[string][]string{
	"kv_cache_usage":        {"namespace", "modelID"},
	"queue_length":          {"namespace", "modelID"},
	"cache_config_info":     {"namespace"}, // vllm:cache_config_info has no model_name
	"avg_output_tokens":     {"namespace", "modelID"},
	"avg_input_tokens":      {"namespace", "modelID"},
	"prefix_cache_hit_rate": {"namespace", "modelID"},
	"avg_ttft":              {"namespace", "modelID"},
	"avg_itl":               {"namespace", "modelID"},
	"generation_token_rate": {"namespace", "modelID"},
	"kv_usage_instant":      {"namespace", "modelID"},
	"request_rate":          {"namespace", "modelID"},
	"model_request_count":   {"namespace", "modelID", "retentionPeriod"},

	"sglang/kv_cache_usage":        {"namespace", "modelID"},
	"sglang/queue_length":          {"namespace", "modelID"},
	"sglang/cache_config_info":     {"namespace", "modelID"}, // sglang:max_total_num_tokens has model_name
	"sglang/avg_output_tokens":     {"namespace", "modelID"},
	"sglang/avg_input_tokens":      {"namespace", "modelID"},
	"sglang/prefix_cache_hit_rate": {"namespace", "modelID"},
	"sglang/avg_ttft":              {"namespace", "modelID"},
	"sglang/avg_itl":               {"namespace", "modelID"},
	"sglang/generation_token_rate": {"namespace", "modelID"},
	"sglang/kv_usage_instant":      {"namespace", "modelID"},
	"sglang/request_rate":          {"namespace", "modelID"},
	"sglang/model_request_count":   {"namespace", "modelID", "retentionPeriod"},

	"scheduler_queue_size":    {"modelID"}, // the EPP labels no namespace (upstream #2309)
	"scheduler_queue_bytes":   {"modelID"},
	"scheduler_dispatch_rate": {"namespace", "modelID"},
	"model_arrival_rate":      {"namespace", "modelID"},
}

// Every query upstream registers is shipped under its name with its params, and no other.
func TestQueriesAsUpstreamRegistersThem(t *testing.T) {
	got := map[string][]string{}
	for _, q := range llmd.Queries() {
		if _, dup := got[q.Name]; dup {
			t.Errorf("%s shipped twice", q.Name)
		}
		got[q.Name] = q.Params
	}
	for _, name := range slices.Sorted(maps.Keys(upstreamQueries)) {
		params, ok := got[name]
		switch {
		case !ok:
			t.Errorf("upstream's %s is not shipped", name)
		case !slices.Equal(slices.Sorted(slices.Values(params)), slices.Sorted(slices.Values(upstreamQueries[name]))):
			t.Errorf("%s takes %v, upstream's takes %v", name, params, upstreamQueries[name])
		}
	}
	for name := range got {
		if _, ok := upstreamQueries[name]; !ok {
			t.Errorf("%s is shipped but upstream registers no such query", name)
		}
	}
	// The engine-scoped names are EngineQuery's, as upstream's registration.EngineQuery.
	for _, name := range llmd.EngineQueries() {
		if got, want := llmd.EngineQuery(llmd.EngineSGLang, name), "sglang/"+name; got != want {
			t.Errorf("EngineQuery(sglang, %s) = %s, want %s", name, got, want)
		}
		if got := llmd.EngineQuery(llmd.EngineVLLM, name); got != name {
			t.Errorf("EngineQuery(vllm, %s) = %s, want the bare name", name, got)
		}
	}
	if got := llmd.EngineQuery(llmd.EngineSGLang, llmd.SchedulerQueueSize); got != llmd.SchedulerQueueSize {
		t.Errorf("EngineQuery(sglang, scheduler_queue_size) = %s, want the bare name (the EPP's queries are every engine's)", got)
	}
}

// Selector pieces of upstream's templates, written out as upstream writes them.
const (
	upNsModel = `{namespace="{{.namespace}}",model_name="{{.modelID}}"}`
	upBy      = `(instance, pod, llm_d_ai_variant)`
)

// upstreamTemplates are the PromQL texts llm-d-autoscaling registers, written out by hand
// from its registration files (saturation.go, epp.go, queueing_model.go and
// throughput_analyzer.go at 3300e6f, scale_to_zero.go with its SGLang variant), apart from
// prefix_cache_hit_rate over vLLM, which is the text of upstream's fix (#1536, for #1526):
// 3300e6f still reads vllm:prefix_cache_hits, which today's vLLM does not expose. The
// name constants' docs say each query is upstream's unchanged; this holds them to it, a
// window, a matcher or an aggregation at a time, including the ones no answer test tells
// apart (a 1m window over a steady load answers as a 5m one does).
var upstreamTemplates = map[string]string{
	"kv_cache_usage":        `max by ` + upBy + ` (max_over_time(vllm:kv_cache_usage_perc` + upNsModel + `[1m]))`,
	"queue_length":          `max by ` + upBy + ` (max_over_time(vllm:num_requests_waiting` + upNsModel + `[1m]))`,
	"cache_config_info":     `max by (instance, pod, llm_d_ai_variant, num_gpu_blocks, block_size) (vllm:cache_config_info{namespace="{{.namespace}}"})`,
	"avg_output_tokens":     `max by ` + upBy + ` (rate(vllm:request_generation_tokens_sum` + upNsModel + `[5m]) / rate(vllm:request_generation_tokens_count` + upNsModel + `[5m]))`,
	"avg_input_tokens":      `max by ` + upBy + ` (rate(vllm:request_prompt_tokens_sum` + upNsModel + `[5m]) / rate(vllm:request_prompt_tokens_count` + upNsModel + `[5m]))`,
	"prefix_cache_hit_rate": `max by ` + upBy + ` (rate(vllm:prefix_cache_hits_total` + upNsModel + `[5m]) / rate(vllm:prefix_cache_queries_total` + upNsModel + `[5m]))`,
	"avg_ttft":              `max by ` + upBy + ` (rate(vllm:time_to_first_token_seconds_sum` + upNsModel + `[1m]) / rate(vllm:time_to_first_token_seconds_count` + upNsModel + `[1m]))`,
	"avg_itl":               `max by ` + upBy + ` (rate(vllm:inter_token_latency_seconds_sum` + upNsModel + `[1m]) / rate(vllm:inter_token_latency_seconds_count` + upNsModel + `[1m]))`,
	"generation_token_rate": `sum by ` + upBy + ` (rate(vllm:request_generation_tokens_sum` + upNsModel + `[1m]))`,
	"kv_usage_instant":      `max by ` + upBy + ` (vllm:kv_cache_usage_perc` + upNsModel + `)`,
	"request_rate":          `sum by ` + upBy + ` (rate(vllm:request_generation_tokens_count` + upNsModel + `[1m]))`,
	"model_request_count":   `sum(increase(vllm:request_success_total` + upNsModel + `[{{.retentionPeriod}}]))`,

	"sglang/kv_cache_usage":        `max by ` + upBy + ` (max_over_time(sglang:token_usage` + upNsModel + `[1m]))`,
	"sglang/queue_length":          `max by ` + upBy + ` (max_over_time(sglang:num_queue_reqs` + upNsModel + `[1m]))`,
	"sglang/cache_config_info":     `max by ` + upBy + ` (sglang:max_total_num_tokens` + upNsModel + `)`,
	"sglang/avg_output_tokens":     `max by ` + upBy + ` (rate(sglang:generation_tokens_histogram_sum` + upNsModel + `[5m]) / rate(sglang:generation_tokens_histogram_count` + upNsModel + `[5m]))`,
	"sglang/avg_input_tokens":      `max by ` + upBy + ` (rate(sglang:prompt_tokens_histogram_sum` + upNsModel + `[5m]) / rate(sglang:prompt_tokens_histogram_count` + upNsModel + `[5m]))`,
	"sglang/prefix_cache_hit_rate": `sum by ` + upBy + ` (rate(sglang:cached_tokens_total` + upNsModel + `[5m])) / sum by ` + upBy + ` (rate(sglang:prompt_tokens_total` + upNsModel + `[5m]))`,
	"sglang/avg_ttft":              `max by ` + upBy + ` (rate(sglang:time_to_first_token_seconds_sum` + upNsModel + `[1m]) / rate(sglang:time_to_first_token_seconds_count` + upNsModel + `[1m]))`,
	"sglang/avg_itl":               `max by ` + upBy + ` (rate(sglang:inter_token_latency_seconds_sum` + upNsModel + `[1m]) / rate(sglang:inter_token_latency_seconds_count` + upNsModel + `[1m]))`,
	"sglang/generation_token_rate": `sum by ` + upBy + ` (rate(sglang:generation_tokens_histogram_sum` + upNsModel + `[1m]))`,
	"sglang/kv_usage_instant":      `max by ` + upBy + ` (sglang:token_usage` + upNsModel + `)`,
	"sglang/request_rate":          `sum by ` + upBy + ` (rate(sglang:generation_tokens_histogram_count` + upNsModel + `[1m]))`,
	"sglang/model_request_count":   `sum(increase(sglang:num_requests_total` + upNsModel + `[{{.retentionPeriod}}]))`,

	"scheduler_queue_size": `sum(llm_d_epp_flow_control_queue_size{target_model_name="{{.modelID}}"} or inference_extension_flow_control_queue_size{target_model_name="{{.modelID}}"})` +
		` or sum(llm_d_epp_flow_control_queue_size{model_name="{{.modelID}}",target_model_name=""} or inference_extension_flow_control_queue_size{model_name="{{.modelID}}",target_model_name=""})`,
	"scheduler_queue_bytes": `sum(llm_d_epp_flow_control_queue_bytes{target_model_name="{{.modelID}}"} or inference_extension_flow_control_queue_bytes{target_model_name="{{.modelID}}"})` +
		` or sum(llm_d_epp_flow_control_queue_bytes{model_name="{{.modelID}}",target_model_name=""} or inference_extension_flow_control_queue_bytes{model_name="{{.modelID}}",target_model_name=""})`,
	"scheduler_dispatch_rate": `sum by (pod_name, port, namespace) (` + upDispatch + `)`,
	"model_arrival_rate":      `sum by (namespace) (` + upDispatch + `)`,
}

// upDispatch is upstream's schedulerDispatchRate (epp.go).
const upDispatch = `label_replace(rate(llm_d_epp_scheduler_attempts_total{status="success",namespace="{{.namespace}}",target_model_name="{{.modelID}}"}[1m]), "pod_name", "$1", "endpoint_name", "(.+)")` +
	` or ignoring(endpoint_name) rate(inference_extension_scheduler_attempts_total{status="success",namespace="{{.namespace}}",target_model_name="{{.modelID}}"}[1m])`

// Every shipped template is upstream's text, character for character: the autoscaler's
// analyzers were tuned on those windows and aggregations, and a source answering another
// query under the same name would move replicas on numbers upstream never produces.
func TestQueriesAreUpstreamsTexts(t *testing.T) {
	if len(upstreamTemplates) != len(upstreamQueries) {
		t.Fatalf("%d texts written out for %d queries", len(upstreamTemplates), len(upstreamQueries))
	}
	for _, q := range llmd.Queries() {
		want, ok := upstreamTemplates[q.Name]
		switch {
		case !ok:
			t.Errorf("%s: upstream registers no such query", q.Name)
		case q.Template != want:
			t.Errorf("%s differs from upstream's text\n got: %s\nwant: %s", q.Name, q.Template, want)
		}
		if strings.Contains(q.Template, "vllm:prefix_cache_hits{") {
			t.Errorf("%s reads vllm:prefix_cache_hits, which today's vLLM exposes only as vllm:prefix_cache_hits_total (upstream #1526)", q.Name)
		}
	}
}
