package localcluster

import (
	"math"
	"strconv"
)

// Model server capacity, chosen so that the demo's load swings from idle to queueing.
const (
	vllmMaxRunning   = 8    // max_num_seqs: requests decoded at once
	vllmBlockSize    = 16   // tokens per KV-cache block
	vllmGPUBlocks    = 512  // KV-cache blocks
	vllmDecodeRate   = 40.0 // tokens per second per running request
	vllmPrefillRate  = 8000 // prompt tokens per second
	vllmMaxLoRA      = 2
	vllmFinishStop   = "stop"
	vllmFinishLength = "length"
)

// request is one simulated inference request, from the EPP to a model server and back.
// Times are simulated seconds.
type request struct {
	promptTokens int
	cachedTokens int // prompt tokens found in the prefix cache
	maxTokens    int // the request's max_tokens
	outputTokens int // what it generates, at most maxTokens
	generated    float64
	arrivedAt    float64 // at the EPP
	queuedAt     float64 // at the model server
	startedAt    float64 // running on the model server
	streaming    bool    // the client asked for a streamed answer
	firstToken   bool    // its first token came (prefill done): TTFT observed
	epp          *eppSim
}

// modelServer is one simulated model server pod, vLLM or SGLang (engine). The
// Simulation's lock guards it.
type modelServer struct {
	pod     string
	engine  string // engineVLLM or engineSGLang: whose metrics it exposes
	serving bool   // behind the pool: the EPP routes to it
	model   string
	waiting []*request
	running []*request

	promptTokens, generationTokens, prefixHits, prefixQueries float64
	success                                                   map[string]float64 // by finish_reason

	e2e, queueTime, prefill, decode, inference, ttft, tpot, itl *histogram
	promptHist, generationHist, maxGeneration, paramsMaxTokens  *histogram
	requestTPOT                                                 *histogram // one mean per request

	// byStream is what current SGLang splits by is_streaming, indexed by streamIndex;
	// nil for vLLM.
	byStream [2]*streamStats
}

func newModelServer(pod, model, engine string, serving bool) *modelServer {
	// The histograms both engines expose, with each engine's own bounds; the rest only
	// vLLM exposes.
	ttft, itl, e2e, tokens := vllmTTFTBuckets, vllmTokenLatencyBuckets, vllmLatencyBuckets, vllmTokenBuckets
	if engine == engineSGLang {
		ttft, itl, e2e, tokens = sglangTTFTBuckets, sglangInterTokenLatencyBuckets, sglangE2EBuckets, sglangTokenBuckets
	}
	m := &modelServer{
		pod: pod, engine: engine, serving: serving, model: model,
		success:         map[string]float64{vllmFinishStop: 0, vllmFinishLength: 0},
		e2e:             newHistogram(e2e()),
		queueTime:       newHistogram(vllmLatencyBuckets()),
		prefill:         newHistogram(vllmLatencyBuckets()),
		decode:          newHistogram(vllmLatencyBuckets()),
		inference:       newHistogram(vllmLatencyBuckets()),
		ttft:            newHistogram(ttft()),
		tpot:            newHistogram(vllmTokenLatencyBuckets()),
		itl:             newHistogram(itl()),
		promptHist:      newHistogram(tokens()),
		generationHist:  newHistogram(tokens()),
		maxGeneration:   newHistogram(vllmTokenBuckets()),
		paramsMaxTokens: newHistogram(vllmTokenBuckets()),
		requestTPOT:     newHistogram(vllmTokenLatencyBuckets()),
	}
	if engine == engineSGLang {
		for i := range m.byStream {
			m.byStream[i] = &streamStats{ttft: newHistogram(ttft()), e2e: newHistogram(e2e())}
		}
	}
	return m
}

// load is what the EPP's queue scorer compares: requests waiting and running.
func (m *modelServer) load() int { return len(m.waiting) + len(m.running) }

// enqueue takes a request routed by the EPP at time now.
func (m *modelServer) enqueue(r *request, now float64) {
	r.queuedAt = now
	m.waiting = append(m.waiting, r)
}

// step advances the server from start to start+dt: admit waiting requests while there is
// room, decode the running ones, and finish those done.
func (m *modelServer) step(start, dt float64) {
	for len(m.waiting) > 0 && len(m.running) < vllmMaxRunning {
		r := m.waiting[0]
		m.waiting = m.waiting[1:]
		r.startedAt = math.Max(start, r.queuedAt)
		m.promptTokens += float64(r.promptTokens)
		if s := m.byStream[streamIndex(r.streaming)]; s != nil {
			s.promptTokens += float64(r.promptTokens)
		}
		m.prefixQueries += float64(r.promptTokens)
		m.prefixHits += float64(r.cachedTokens)
		m.running = append(m.running, r)
	}
	kept := m.running[:0]
	for _, r := range m.running {
		firstAt := r.startedAt + prefillSeconds(r)
		if !r.firstToken && firstAt <= start+dt {
			m.observeFirstToken(r)
		}
		begin := math.Max(start, firstAt)
		left := float64(r.outputTokens) - r.generated
		if avail := (start + dt - begin) * vllmDecodeRate; avail < left {
			m.generate(r, r.generated+math.Max(avail, 0))
			kept = append(kept, r)
			continue
		}
		m.generate(r, float64(r.outputTokens))
		m.finish(r, begin+left/vllmDecodeRate)
	}
	clear(m.running[len(kept):])
	m.running = kept
}

// observeFirstToken records r's first token, when its prefill is done: its time to
// first token, as the programs observe it then (the llm-d simulator, vLLM's iteration
// stats, SGLang's tokenizer manager), not when the request finishes; and its prefill
// time, which the llm-d simulator (the capture) observes then too (vLLM itself, at the
// finish).
func (m *modelServer) observeFirstToken(r *request) {
	r.firstToken = true
	queue, prefill := r.startedAt-r.queuedAt, prefillSeconds(r)
	m.prefill.observe(prefill, 1)
	m.ttft.observe(queue+prefill, 1)
	if s := m.byStream[streamIndex(r.streaming)]; s != nil {
		s.ttft.observe(queue+prefill, 1)
	}
}

// generate advances r to generated tokens, observing the inter-token latency (and
// time per output token) of each whole token it completes after the first, as the
// programs observe them: token by token while the request runs.
func (m *modelServer) generate(r *request, generated float64) {
	pastFirst := func(g float64) uint64 { return uint64(math.Max(math.Floor(g)-1, 0)) }
	n := pastFirst(generated) - pastFirst(r.generated)
	r.generated = generated
	m.tpot.observe(1/vllmDecodeRate, n)
	m.itl.observe(1/vllmDecodeRate, n)
}

func prefillSeconds(r *request) float64 {
	return float64(r.promptTokens-r.cachedTokens) / vllmPrefillRate
}

// finish records a request completed at time end.
func (m *modelServer) finish(r *request, end float64) {
	queue := r.startedAt - r.queuedAt
	inference := end - r.startedAt
	decode := inference - prefillSeconds(r)
	m.e2e.observe(end-r.queuedAt, 1)
	m.queueTime.observe(queue, 1)
	m.decode.observe(decode, 1)
	m.inference.observe(inference, 1)
	if r.outputTokens > 1 {
		m.requestTPOT.observe(decode/float64(r.outputTokens-1), 1)
	}
	m.promptHist.observe(float64(r.promptTokens), 1)
	m.generationHist.observe(float64(r.outputTokens), 1)
	m.maxGeneration.observe(float64(r.maxTokens), 1)
	m.paramsMaxTokens.observe(float64(r.maxTokens), 1)
	m.generationTokens += float64(r.outputTokens)
	reason := vllmFinishStop
	if r.outputTokens == r.maxTokens {
		reason = vllmFinishLength
	}
	m.success[reason]++
	if s := m.byStream[streamIndex(r.streaming)]; s != nil {
		s.e2e.observe(end-r.queuedAt, 1)
		s.generationTokens += float64(r.outputTokens)
		s.requests++
	}
	if r.epp != nil {
		r.epp.complete(r, end)
	}
}

// kvCacheUsage is the fraction of KV-cache blocks the running requests hold.
func (m *modelServer) kvCacheUsage() float64 {
	blocks := 0.0
	for _, r := range m.running {
		blocks += math.Ceil((float64(r.promptTokens) + r.generated) / vllmBlockSize)
	}
	return math.Min(blocks/vllmGPUBlocks, 1)
}

// vllmEngine is the engine label current vLLM puts beside model_name: the index of the
// engine core in the pod (one here).
const vllmEngine = "0"

// expose writes the server's /metrics as vLLM of generation gen does; loraSince is the
// Unix time the lora_requests_info gauge reports.
func (m *modelServer) expose(w *textWriter, loraSince float64, gen Generation) {
	if m.engine == engineSGLang {
		m.exposeSGLang(w, gen)
		return
	}
	current := gen == Current
	model := labels("model_name", m.model)
	cacheConfig := labels("block_size", strconv.Itoa(vllmBlockSize), "num_gpu_blocks", strconv.Itoa(vllmGPUBlocks))
	prefixHits, prefixQueries := "vllm:prefix_cache_hits", "vllm:prefix_cache_queries"
	if current {
		model = append(model, label{"engine", vllmEngine})
		cacheConfig = append(cacheConfig, label{"cache_dtype", "auto"}, label{"enable_prefix_caching", "True"},
			label{"engine", vllmEngine}, label{"gpu_memory_utilization", "0.9"})
		prefixHits, prefixQueries = prefixHits+"_total", prefixQueries+"_total"
	}
	hist := func(name, help string, h *histogram) {
		w.family(name, "histogram", help)
		w.histogram(name, model, h)
	}
	w.single("vllm:cache_config_info", "gauge", "Information of the LLMEngine CacheConfig.", cacheConfig, 1)
	hist("vllm:e2e_request_latency_seconds", "Histogram of end to end request latency in seconds.", m.e2e)
	w.single("vllm:generation_tokens_total", "counter", "Total number of generated tokens.", model, m.generationTokens)
	hist("vllm:inter_token_latency_seconds", "Histogram of inter-token latency in seconds.", m.itl)
	w.single("vllm:kv_cache_usage_perc", "gauge",
		"Prometheus metric for the fraction of KV-cache blocks currently in use (from 0 to 1).", model, m.kvCacheUsage())
	w.single("vllm:lora_requests_info", "gauge", "Running stats on lora requests.",
		labels("max_lora", strconv.Itoa(vllmMaxLoRA), "running_lora_adapters", "", "waiting_lora_adapters", ""), loraSince)
	hist("vllm:max_num_generation_tokens", "Histogram of maximum number of requested generation tokens.", m.maxGeneration)
	w.single("vllm:num_requests_running", "gauge", "Number of requests currently running on GPU.", model, float64(len(m.running)))
	w.single("vllm:num_requests_waiting", "gauge", "Prometheus metric for the number of queued requests.", model, float64(len(m.waiting)))
	w.single(prefixHits, "counter", "Prefix cache hits, in terms of number of cached tokens.", model, m.prefixHits)
	w.single(prefixQueries, "counter", "Prefix cache queries, in terms of number of queried tokens.", model, m.prefixQueries)
	w.single("vllm:prompt_tokens_total", "counter", "Total number of prompt tokens processed.", model, m.promptTokens)
	hist("vllm:request_decode_time_seconds", "Histogram of time spent in DECODE phase for request.", m.decode)
	hist("vllm:request_generation_tokens", "Number of generation tokens processed.", m.generationHist)
	hist("vllm:request_inference_time_seconds", "Histogram of time spent in RUNNING phase for request.", m.inference)
	hist("vllm:request_params_max_tokens", "Histogram of the max_tokens request parameter.", m.paramsMaxTokens)
	hist("vllm:request_prefill_time_seconds", "Histogram of time spent in PREFILL phase for request.", m.prefill)
	hist("vllm:request_prompt_tokens", "Number of prefill tokens processed.", m.promptHist)
	hist("vllm:request_queue_time_seconds", "Histogram of time spent in WAITING phase for request.", m.queueTime)
	w.family("vllm:request_success_total", "counter", "Count of successfully processed requests.")
	for _, reason := range []string{vllmFinishLength, vllmFinishStop} {
		w.sample("vllm:request_success_total", sortLabels(append(labels("finish_reason", reason), model...)), m.success[reason])
	}
	if current {
		hist("vllm:request_time_per_output_token_seconds", "Histogram of time_per_output_token_seconds per request.", m.requestTPOT)
	} else {
		hist("vllm:time_per_output_token_seconds", "Histogram of time per output token in seconds.", m.tpot)
	}
	hist("vllm:time_to_first_token_seconds", "Histogram of time to first token in seconds.", m.ttft)
}
