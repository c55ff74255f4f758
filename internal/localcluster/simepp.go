package localcluster

import (
	"math"
	"slices"
)

// EPP constants of the simulation.
const (
	eppBuildRef = "v1.2.1"
	// eppSaturation is the waiting requests per model server past which flow control
	// holds new requests in the EPP instead of dispatching them.
	eppSaturation = 4
	// eppErrorCode is what the EPP reports for a request it rejects before it knows the
	// model (so, as in the real EPP, with empty model labels).
	eppErrorCode = "BadRequest"
	// bytesPerToken turns token counts into request and response sizes.
	bytesPerToken = 4
	// flowControlFairnessID and flowControlPriority label the flow control series: the
	// default fairness ID and priority of requests without InferenceObjective headers.
	flowControlFairnessID = "default-flow"
	flowControlPriority   = "0"
)

// eppPlugin is one scheduler plugin whose latency the EPP reports.
type eppPlugin struct {
	extensionPoint, name string
	seconds              float64 // typical latency
	perProfile           uint64  // observations per scheduled request
	h                    *histogram
}

// eppSim is one simulated endpoint picker (EPP) pod. The Simulation's lock guards it.
type eppSim struct {
	pod, pool, model string
	namespace        string // the install's, as the scheduler attempts label it
	port             int    // the model servers' port, likewise

	held     []*request // in flow control, waiting for a model server with room
	inFlight int        // dispatched, not yet answered

	requests, errors                             float64            // scheduled; rejected
	attempts                                     map[string]float64 // successful scheduling attempts, by model server pod
	duration, requestSizes, responseSizes        *histogram
	inputTokens, outputTokens, cachedTokens      *histogram
	schedulerE2E, prefixHitBytes, prefixHitRatio *histogram
	flowControlWait                              *histogram
	plugins                                      []*eppPlugin
	prefixIndexerSize                            float64
}

func newEPPSim(pod, pool, model, namespace string, port int) *eppSim {
	e := &eppSim{
		pod: pod, pool: pool, model: model, namespace: namespace, port: port,
		attempts:        map[string]float64{},
		duration:        newHistogram(eppDurationBuckets()),
		requestSizes:    newHistogram(eppRequestSizeBuckets()),
		responseSizes:   newHistogram(eppResponseSizeBuckets()),
		inputTokens:     newHistogram(eppInputTokenBuckets()),
		outputTokens:    newHistogram(eppOutputTokenBuckets()),
		cachedTokens:    newHistogram(eppInputTokenBuckets()),
		schedulerE2E:    newHistogram(eppSchedulerBuckets()),
		prefixHitBytes:  newHistogram(eppPrefixHitBytesBuckets()),
		prefixHitRatio:  newHistogram(eppPrefixHitRatioBuckets()),
		flowControlWait: newHistogram(eppFlowControlBuckets()),
	}
	for _, p := range []struct {
		point, name string
		seconds     float64
		n           uint64
	}{
		{"Picker", "max-score-picker", 0.0000015, 1},
		{"PreRequest", "prefix-cache-scorer", 0.000006, 1},
		{"ProcessProfilesResults", "single-profile-handler", 0.0000004, 1},
		{"ProfilePicker", "single-profile-handler", 0.0000003, 2},
		{"Scorer", "kv-cache-utilization-scorer", 0.0000006, 1},
		{"Scorer", "prefix-cache-scorer", 0.000012, 1},
		{"Scorer", "queue-scorer", 0.0000008, 1},
	} {
		e.plugins = append(e.plugins, &eppPlugin{extensionPoint: p.point, name: p.name, seconds: p.seconds,
			perProfile: p.n, h: newHistogram(eppSchedulerBuckets())})
	}
	return e
}

// receive takes a request from the gateway: held by flow control until dispatch finds
// it a model server; a rejected one is counted as an error, and only there. As in the
// real EPP (pkg/epp/handlers), the request counter and request sizes count a request
// once it is scheduled (dispatchOne), its input tokens once it is answered (complete).
func (e *eppSim) receive(r *request, rejected bool) {
	if rejected {
		e.errors++
		return
	}
	e.held = append(e.held, r)
}

// dispatchOne routes the oldest held request to the least loaded serving model server
// (the queue scorer), unless every server is saturated; it reports whether it did. jitter
// in [0,1) varies the scheduling latencies.
func (e *eppSim) dispatchOne(servers []*modelServer, now float64, jitter func() float64) bool {
	if len(e.held) == 0 {
		return false
	}
	target := leastLoaded(servers)
	if target == nil || len(target.waiting) >= eppSaturation {
		return false
	}
	r := e.held[0]
	e.held = e.held[1:]
	r.epp = e
	target.enqueue(r, now)
	e.requests++
	e.requestSizes.observe(float64(r.promptTokens*bytesPerToken+256), 1)
	e.attempts[target.pod]++
	e.inFlight++
	e.flowControlWait.observe(now-r.arrivedAt, 1)
	sched := 0.0
	for _, p := range e.plugins {
		d := p.seconds * (0.5 + jitter())
		p.h.observe(d, p.perProfile)
		sched += d * float64(p.perProfile)
	}
	e.schedulerE2E.observe(sched+0.00002*jitter(), 1)
	e.prefixHitBytes.observe(float64(r.cachedTokens*bytesPerToken), 1)
	e.prefixHitRatio.observe(float64(r.cachedTokens)/float64(r.promptTokens), 1)
	e.prefixIndexerSize += float64(r.promptTokens-r.cachedTokens) / vllmBlockSize
	return true
}

// complete records the answer to a request the EPP dispatched, at time end.
func (e *eppSim) complete(r *request, end float64) {
	e.inFlight--
	e.duration.observe(end-r.arrivedAt, 1)
	e.inputTokens.observe(float64(r.promptTokens), 1)
	e.outputTokens.observe(float64(r.outputTokens), 1)
	e.cachedTokens.observe(float64(r.cachedTokens), 1)
	e.responseSizes.observe(float64(r.outputTokens*bytesPerToken+300), 1)
}

func leastLoaded(servers []*modelServer) *modelServer {
	var best *modelServer
	for _, m := range servers {
		if m.serving && (best == nil || m.load() < best.load()) {
			best = m
		}
	}
	return best
}

// expose writes the EPP's /metrics of generation gen: its own families and the pool's,
// which it reads from the model servers as the real EPP does.
func (e *eppSim) expose(w *textWriter, servers []*modelServer, gen Generation) {
	if gen == Current {
		e.exposeCurrent(w, servers)
		return
	}
	e.exposePrevious(w, servers)
}

// exposePrevious writes the /metrics of the Gateway API Inference Extension's EPP
// v1.2.1 (testdata/epp-metrics.txt): the inference_extension_*, inference_objective_*
// and inference_pool_* names only. Its flow control families are v1.2.1's (its
// pkg/epp/metrics/metrics.go; the capture, taken without flow control, has none): the
// queue size labelled fairness_id and priority only, with no pool or model labels (those
// came in v1.3.0), and no queue bytes (v1.4.0).
func (e *eppSim) exposePrevious(w *textWriter, servers []*modelServer) {
	const alpha = "[ALPHA] "
	objective := labels("model_name", e.model, "target_model_name", e.model)
	pool := labels("name", e.pool)
	flow := labels("fairness_id", flowControlFairnessID, "priority", flowControlPriority)

	w.single("inference_extension_flow_control_queue_size", "gauge",
		alpha+"Current number of requests being actively managed by the EPP flow control layer, from the start of the EnqueueAndWait call until a final outcome is reached.",
		flow, float64(len(e.held)))
	w.family("inference_extension_flow_control_request_queue_duration_seconds", "histogram",
		alpha+"Distribution of the total time requests spend in the EPP flow control layer, measured from the start of the EnqueueAndWait call until a final outcome is reached.")
	w.histogram("inference_extension_flow_control_request_queue_duration_seconds",
		append(slices.Clone(flow), label{"outcome", "Dispatched"}), e.flowControlWait)
	w.single("inference_extension_info", "gauge", alpha+"General information of the current build of Inference Extension.",
		labels("build_ref", eppBuildRef, "commit", ""), 1)
	w.family("inference_extension_plugin_duration_seconds", "histogram",
		alpha+"Plugin processing latency distribution in seconds for each extension point, plugin type and plugin name.")
	for _, p := range e.plugins {
		w.histogram("inference_extension_plugin_duration_seconds",
			labels("extension_point", p.extensionPoint, "plugin_name", p.name, "plugin_type", p.name), p.h)
	}
	e.histogram(w, "inference_extension_prefix_indexer_hit_bytes", "Length of the prefix match in number of bytes in the cache lookup.", nil, e.prefixHitBytes)
	e.histogram(w, "inference_extension_prefix_indexer_hit_ratio", "Ratio of prefix length matched to total prefix length in the cache lookup.", nil, e.prefixHitRatio)
	w.single("inference_extension_prefix_indexer_size", "gauge", alpha+"Size of the prefix indexer.", nil, e.prefixIndexerSize)
	e.histogram(w, "inference_extension_scheduler_e2e_duration_seconds", "End-to-end scheduling latency distribution in seconds.", nil, e.schedulerE2E)
	e.histogram(w, "inference_objective_input_tokens", "Inference objective input token count distribution for requests in each model.", objective, e.inputTokens)
	e.histogram(w, "inference_objective_output_tokens", "Inference objective output token count distribution for requests in each model.", objective, e.outputTokens)
	e.histogram(w, "inference_objective_prompt_cached_tokens", "Inference objective prompt cached token count distribution for requests in each model.", objective, e.cachedTokens)
	e.histogram(w, "inference_objective_request_duration_seconds", "Inference objective response latency distribution in seconds for each model and target model.", objective, e.duration)
	w.single("inference_objective_request_error_total", "counter",
		alpha+"Counter of inference objective requests errors broken out for each model and target model.",
		labels("error_code", eppErrorCode, "model_name", "", "target_model_name", ""), e.errors)
	e.histogram(w, "inference_objective_request_sizes", "Inference objective requests size distribution in bytes for each model and target model.", objective, e.requestSizes)
	w.single("inference_objective_request_total", "counter",
		alpha+"Counter of inference objective requests broken out for each model and target model.", objective, e.requests)
	e.histogram(w, "inference_objective_response_sizes", "Inference objective responses size distribution in bytes for each model and target model.", objective, e.responseSizes)
	w.single("inference_objective_running_requests", "gauge", alpha+"Inference objective number of running requests in each model.",
		labels("model_name", e.model), float64(e.inFlight))

	var ready, kv, queued float64
	for _, m := range servers {
		if m.serving {
			ready++
			kv += m.kvCacheUsage()
			queued += float64(len(m.waiting))
		}
	}
	if ready > 0 { // v1.2.1 divides the waiting requests as integers (its metrics logger)
		kv, queued = kv/ready, math.Floor(queued/ready)
	}
	w.single("inference_pool_average_kv_cache_utilization", "gauge", alpha+"The average kv cache utilization for an inference server pool.", pool, kv)
	w.single("inference_pool_average_queue_size", "gauge", alpha+"The average number of requests pending in the model server queue.", pool, queued)
	w.family("inference_pool_per_pod_queue_size", "gauge", alpha+"The total number of requests pending in the model server queue for each underlying pod.")
	for _, m := range servers {
		if m.serving {
			w.sample("inference_pool_per_pod_queue_size", labels("model_server_pod", m.pod, "name", e.pool), float64(len(m.waiting)))
		}
	}
	w.single("inference_pool_ready_pods", "gauge", alpha+"The number of ready pods in the inference server pool.", pool, ready)
}

func (e *eppSim) histogram(w *textWriter, name, help string, ls []label, h *histogram) {
	w.family(name, "histogram", "[ALPHA] "+help)
	w.histogram(name, ls, h)
}
