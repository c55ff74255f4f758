// Package llmd holds the PromQL queries llm-d's workload-variant-autoscaler
// (llm-d-autoscaling) registers today, so an application can answer them from any
// source: a PodScrapingSource (direct scrapes of the engine and EPP pods, no Prometheus
// server) or a Prometheus-backed source.
//
// # Queries
//
// VLLMQueries are the engine queries over vLLM, under upstream's bare names
// (kv_cache_usage, queue_length, cache_config_info, avg_output_tokens,
// avg_input_tokens, prefix_cache_hit_rate, avg_ttft, avg_itl, generation_token_rate,
// kv_usage_instant, request_rate, model_request_count); SGLangQueries the same over
// SGLang, named "sglang/<name>" as upstream names them (EngineQuery). They take
// source.ParamNamespace and source.ParamModelID (cache_config_info over vLLM only the
// namespace: vllm:cache_config_info has no model_name); model_request_count also takes
// ParamRetentionPeriod. They suit a source over the engine Service. SchedulerQueries
// (scheduler_queue_size, scheduler_queue_bytes, scheduler_dispatch_rate,
// model_arrival_rate) suit a source over the EPP Service: they read the EPP's current
// llm_d_epp_* names and, series by series, the deprecated inference_extension_* ones, so
// an EPP emitting both counts once and a fleet mid-upgrade counts every EPP.
//
// Each name constant's doc says which upstream query it is and where this one differs.
// The Descriptions are upstream's, shortened to what the query answers: the clauses on
// what upstream's analyzers use it for are left out.
// The texts were read from llm-d/llm-d-autoscaling (internal/collector/registration:
// saturation.go, epp.go, queueing_model.go, throughput_analyzer.go, engine.go at
// 3300e6f/11de7c3, scale_to_zero.go with its SGLang variant); the
// metric names were checked against expositions captured from the programs
// (testdata/vllm-sim-eec055a-*.txt, testdata/llm-d-epp-ebab687-live.txt) and, for
// SGLang, its collector's definitions.
//
// # Labels
//
// The per-instance queries group by (instance, pod, llm_d_ai_variant), as upstream's
// do: instance is <pod IP>:<port>, llm_d_ai_variant the pod label VariantLabel mapped as
// Prometheus' labelmap maps it. A PodScrapingSource gives both when its
// PodScrapingSourceConfig.PodLabels is PodLabels(); a Prometheus server needs the
// relabeling upstream documents (a labelmap of __meta_kubernetes_pod_label_(.+), or a
// rule copying __meta_kubernetes_pod_label_llm_d_ai_variant to llm_d_ai_variant).
//
// # Errors
//
// A PodScrapingSource's PromQL result keeps the healthy pods' values and carries, in
// Error, a *pod.ScrapeError for each pod whose scrape failed. Upstream's collector
// (internal/collector/replica_metrics.go at 11de7c3) returns an error for the whole model
// when the kv_cache_usage or queue_length result HasError(), where a Prometheus server
// answers the same query without an error (the failed pod's series just end): over a
// PodScrapingSource that collector collects no replica metrics for the model while any
// one of its pods fails its scrapes. Its readers of model_arrival_rate and of the
// scheduler queues go further: a result with an Error counts as 0 and as no queue, so
// one EPP of two failing reads as no demand at all, where the server would have given
// the other EPP's. A caller that should act on the other pods reads the values, the
// failed pods named by source.MetricResult.PodStatuses.
package llmd
