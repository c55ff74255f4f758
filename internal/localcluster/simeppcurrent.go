package localcluster

import (
	"math"
	"slices"
	"strconv"
)

// eppPrefixPlugin is the plugin llm-d-router's EPP reports its prefix indexer under.
const eppPrefixPlugin = "approx-prefix-cache-producer"

// eppFamily is one family the current EPP registers under its llm_d_epp_* name and,
// deprecated, under its legacy name (empty: none).
type eppFamily struct {
	current, legacy string
	typ, help       string
	// legacyHelp is the legacy family's own HELP; empty: help. The deprecated twin's HELP
	// is "[ALPHA] [Deprecated: Use <current>] <legacyHelp>".
	legacyHelp string
	// write writes the family's samples under name; legacy selects the legacy labels.
	write func(w *textWriter, name string, legacy bool)
}

// exposeCurrent writes the /metrics of llm-d-router's EPP at ebab687
// (testdata/llm-d-epp-ebab687-live.txt): every llm_d_epp_* family the simulation models,
// with the deprecated twins the same EPP still emits, families sorted by name as
// client_golang gathers them.
func (e *eppSim) exposeCurrent(w *textWriter, servers []*modelServer) {
	const alpha = "[ALPHA] "
	flow := labels("fairness_id", flowControlFairnessID, "inference_pool", e.pool, "model_name", e.model,
		"priority", flowControlPriority, "target_model_name", e.model)
	request := labels("fairness_id", flowControlFairnessID, "model_name", e.model,
		"priority", flowControlPriority, "target_model_name", e.model)
	objective := labels("model_name", e.model, "target_model_name", e.model)
	pool := labels("name", e.pool)
	prefixPlugin := labels("plugin_name", eppPrefixPlugin, "plugin_type", eppPrefixPlugin)

	var ready, kv, queued, running float64
	var kvs, queues, runs []float64
	for _, m := range servers {
		if m.serving {
			ready++
			kvs, queues, runs = append(kvs, m.kvCacheUsage()), append(queues, float64(len(m.waiting))), append(runs, float64(len(m.running)))
		}
	}
	// The pool summary as the EPP writes it (pkg/epp/datalayer/logger calculateSummary):
	// means rounded to two decimals; the saturation detector reads the endpoints, not
	// the rounded mean.
	saturation := mean(queues) / eppSaturation
	kv, queued, running = round2(mean(kvs)), round2(mean(queues)), round2(mean(runs))
	heldBytes := 0
	for _, r := range e.held {
		heldBytes += r.promptTokens * bytesPerToken
	}

	gauge := func(v float64, ls []label) func(*textWriter, string, bool) {
		return func(w *textWriter, name string, _ bool) { w.sample(name, sortLabels(ls), v) }
	}
	hist := func(h *histogram, current, legacy []label) func(*textWriter, string, bool) {
		return func(w *textWriter, name string, isLegacy bool) {
			if isLegacy {
				w.histogram(name, legacy, h)
				return
			}
			w.histogram(name, current, h)
		}
	}
	byLegacy := func(current, legacy []label, v float64) func(*textWriter, string, bool) {
		return func(w *textWriter, name string, isLegacy bool) {
			if isLegacy {
				w.sample(name, sortLabels(legacy), v)
				return
			}
			w.sample(name, sortLabels(current), v)
		}
	}
	families := []eppFamily{
		{"llm_d_epp_average_kv_cache_utilization", "inference_pool_average_kv_cache_utilization", "gauge",
			"The average kv cache utilization for an inference server pool.", "", gauge(kv, pool)},
		{"llm_d_epp_average_queue_size", "inference_pool_average_queue_size", "gauge",
			"The average number of requests pending in the model server queue.", "", gauge(queued, pool)},
		{"llm_d_epp_average_running_requests", "inference_pool_average_running_requests", "gauge",
			"The average number of running requests across model servers in the pool.", "", gauge(running, pool)},
		{"llm_d_epp_flow_control_pool_saturation", "inference_extension_flow_control_pool_saturation", "gauge",
			"Pool saturation signal gating Flow Control dispatch. The stage label partitions by pipeline role: 'prefill' and 'decode' are per-stage signals, 'effective' is max(prefill, decode) and is the value used for gating. 1.0 is the gating set point; values above 1.0 indicate the magnitude of oversubscription past it. An empty pool reads as 1.0. With the default utilization detector, endpoints with missing or stale metrics score as fully saturated (fail-closed; see flow_control_stale_endpoints).",
			"Pool saturation signal gating Flow Control dispatch. The stage label partitions by pipeline role: 'prefill' and 'decode' are per-stage signals, 'effective' is max(prefill, decode) and is the value used for gating. 1.0 is the gating set point; values above 1.0 indicate the magnitude of oversubscription past it. An empty pool reads as 1.0. With the default utilization detector, endpoints with missing or stale metrics score as fully saturated (fail-closed; see llm_d_epp_flow_control_stale_endpoints).",
			func(w *textWriter, name string, _ bool) {
				for _, stage := range []string{"decode", "effective"} {
					w.sample(name, labels("inference_pool", e.pool, "stage", stage), saturation)
				}
			}},
		{"llm_d_epp_flow_control_queue_bytes", "inference_extension_flow_control_queue_bytes", "gauge",
			"Current total size in bytes of requests actively held in the Flow Control queue.", "", gauge(float64(heldBytes), flow)},
		{"llm_d_epp_flow_control_queue_size", "inference_extension_flow_control_queue_size", "gauge",
			"Current number of requests actively held in the Flow Control queue.", "", gauge(float64(len(e.held)), flow)},
		{"llm_d_epp_flow_control_request_queue_duration_seconds", "inference_extension_flow_control_request_queue_duration_seconds", "histogram",
			"Distribution of total time requests spend in the Flow Control layer (from enqueue to final outcome).", "",
			hist(e.flowControlWait, append(slices.Clone(flow), label{"outcome", "Dispatched"}), append(slices.Clone(flow), label{"outcome", "Dispatched"}))},
		{"llm_d_epp_flow_control_requests_total", "", "counter",
			"Total number of requests processed by the Flow Control layer.", "",
			gauge(float64(e.flowControlWait.count), labels("inference_pool", e.pool, "outcome", "Dispatched", "priority", flowControlPriority))},
		{"llm_d_epp_info", "inference_extension_info", "gauge",
			"General information of the current build of Inference Extension.", "", gauge(1, labels("build_ref", "", "commit", ""))},
		{"llm_d_epp_per_endpoint_queue_size", "", "gauge",
			"The total number of requests pending in the model server queue for each underlying endpoint.", "",
			func(w *textWriter, name string, _ bool) {
				for _, m := range servers {
					if m.serving {
						w.sample(name, labels("model_server_endpoint", m.pod+"-rank-0", "name", e.pool), float64(len(m.waiting)))
					}
				}
			}},
		{"llm_d_epp_plugin_duration_seconds", "inference_extension_plugin_duration_seconds", "histogram",
			"Plugin processing latency distribution in seconds for each extension point, plugin type and plugin name.", "",
			func(w *textWriter, name string, _ bool) {
				for _, p := range e.plugins {
					w.histogram(name, labels("extension_point", p.extensionPoint, "plugin_name", p.name, "plugin_type", p.name), p.h)
				}
			}},
		{"llm_d_epp_prefix_indexer_hit_bytes", "inference_extension_prefix_indexer_hit_bytes", "histogram",
			"Length of the prefix match in number of bytes in the cache lookup.", "", hist(e.prefixHitBytes, prefixPlugin, nil)},
		{"llm_d_epp_prefix_indexer_hit_ratio", "inference_extension_prefix_indexer_hit_ratio", "histogram",
			"Ratio of prefix length matched to total prefix length in the cache lookup.", "", hist(e.prefixHitRatio, prefixPlugin, nil)},
		{"llm_d_epp_prefix_indexer_size", "inference_extension_prefix_indexer_size", "gauge",
			"Size of the prefix indexer.", "", byLegacy(prefixPlugin, nil, e.prefixIndexerSize)},
		{"llm_d_epp_ready_endpoints", "inference_pool_ready_pods", "gauge",
			"The number of ready endpoints in the inference server pool.", "The number of ready pods in the inference server pool.", gauge(ready, pool)},
		{"llm_d_epp_request_cached_tokens", "inference_objective_prompt_cached_tokens", "histogram",
			"Distribution of prompt tokens read from cache per request, as reported by the model server in the response.",
			"Inference objective prompt cached token count distribution for requests in each model.", hist(e.cachedTokens, request, objective)},
		{"llm_d_epp_request_duration_seconds", "inference_objective_request_duration_seconds", "histogram",
			"End-to-end request latency distribution in seconds.",
			"Inference objective response latency distribution in seconds for each model and target model.", hist(e.duration, request, objective)},
		{"llm_d_epp_request_error_total", "inference_objective_request_error_total", "counter",
			"Total number of request errors.", "Counter of inference objective requests errors broken out for each model and target model.",
			byLegacy(labels("error_code", eppErrorCode, "fairness_id", flowControlFairnessID, "model_name", "", "priority", "0", "target_model_name", ""),
				labels("error_code", eppErrorCode, "model_name", "", "target_model_name", ""), e.errors)},
		{"llm_d_epp_request_input_tokens", "inference_objective_input_tokens", "histogram",
			"Input token count distribution per request.",
			"Inference objective input token count distribution for requests in each model.", hist(e.inputTokens, request, objective)},
		{"llm_d_epp_request_output_tokens", "inference_objective_output_tokens", "histogram",
			"Output token count distribution per request.",
			"Inference objective output token count distribution for requests in each model.", hist(e.outputTokens, request, objective)},
		{"llm_d_epp_request_running", "inference_objective_running_requests", "gauge",
			"Current number of active running requests.", "Inference objective number of running requests in each model.",
			byLegacy(request, labels("model_name", e.model), float64(e.inFlight))},
		{"llm_d_epp_request_size_bytes", "inference_objective_request_sizes", "histogram",
			"Incoming request body size distribution in bytes.",
			"Inference objective requests size distribution in bytes for each model and target model.", hist(e.requestSizes, request, objective)},
		{"llm_d_epp_request_total", "inference_objective_request_total", "counter",
			"Total number of processed requests.", "Counter of inference objective requests broken out for each model and target model.",
			byLegacy(request, labels("model_name", e.model, "priority", flowControlPriority, "target_model_name", e.model), e.requests)},
		{"llm_d_epp_response_size_bytes", "inference_objective_response_sizes", "histogram",
			"Outgoing response body size distribution in bytes.",
			"Inference objective responses size distribution in bytes for each model and target model.", hist(e.responseSizes, request, objective)},
		{"llm_d_epp_scheduler_attempts_total", "inference_extension_scheduler_attempts_total", "counter",
			"Total number of scheduling attempts.", "",
			func(w *textWriter, name string, isLegacy bool) {
				endpoint := "endpoint_name"
				if isLegacy {
					endpoint = "pod_name"
				}
				for _, m := range servers {
					if n, ok := e.attempts[m.pod]; ok {
						port := e.port
						if m.engine == engineSGLang {
							port = SGLangMetricsPort
						}
						w.sample(name, sortLabels(labels(endpoint, m.pod, "namespace", e.namespace,
							"port", strconv.Itoa(port), "status", "success", "target_model_name", e.model)), n)
					}
				}
			}},
		{"llm_d_epp_scheduler_e2e_duration_seconds", "inference_extension_scheduler_e2e_duration_seconds", "histogram",
			"End-to-end scheduling latency distribution in seconds.", "", hist(e.schedulerE2E, nil, nil)},
	}
	// The deprecated twins first (inference_* sorts before llm_d_epp_*), by name, with
	// inference_pool_per_pod_queue_size, still emitted without a deprecation note.
	legacy := []eppFamily{{legacy: "inference_pool_per_pod_queue_size", typ: "gauge",
		legacyHelp: "The total number of requests pending in the model server queue for each underlying pod.",
		write: func(w *textWriter, name string, _ bool) {
			for _, m := range servers {
				if m.serving {
					w.sample(name, labels("model_server_pod", m.pod+"-rank-0", "name", e.pool), float64(len(m.waiting)))
				}
			}
		}}}
	for _, f := range families {
		if f.legacy != "" {
			legacy = append(legacy, f)
		}
	}
	slices.SortFunc(legacy, func(a, b eppFamily) int { return compareStrings(a.legacy, b.legacy) })
	for _, f := range legacy {
		help := f.help
		if f.legacyHelp != "" {
			help = f.legacyHelp
		}
		if f.current != "" && f.legacy != "inference_extension_info" {
			help = "[Deprecated: Use " + f.current + "] " + help
		}
		w.family(f.legacy, f.typ, alpha+help)
		f.write(w, f.legacy, true)
	}
	for _, f := range families {
		w.family(f.current, f.typ, alpha+f.help)
		f.write(w, f.current, false)
	}
	if len(kvs) > 0 { // written with the averages, for any endpoint count (one: 0)
		for _, sd := range []struct {
			name, help string
			vs         []float64
		}{
			{"llm_d_epp_std_dev_kv_cache_utilization", "The standard deviation kv cache utilization for an inference server pool.", kvs},
			{"llm_d_epp_std_dev_queue_size", "The standard deviation number of requests pending in the model server queue.", queues},
			{"llm_d_epp_std_dev_running_requests", "The standard deviation number of running requests across model servers in the pool.", runs},
		} {
			w.single(sd.name, "gauge", alpha+sd.help, pool, stdDev(sd.vs))
		}
	}
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func mean(vs []float64) float64 {
	if len(vs) == 0 {
		return 0
	}
	sum := 0.0
	for _, v := range vs {
		sum += v
	}
	return sum / float64(len(vs))
}

// stdDev is the EPP's standard deviation of vs: the sample one (n-1, at least 1),
// rounded to two decimals.
func stdDev(vs []float64) float64 {
	m := mean(vs)
	sum := 0.0
	for _, v := range vs {
		sum += (v - m) * (v - m)
	}
	return round2(math.Sqrt(sum / math.Max(1, float64(len(vs)-1))))
}

// round2 rounds v to two decimals, as the EPP rounds its pool summary.
func round2(v float64) float64 { return math.Round(v*100) / 100 }
