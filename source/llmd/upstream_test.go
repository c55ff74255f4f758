package llmd_test

import (
	"maps"
	"slices"
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
