package localcluster

// Histogram bucket bounds of the real programs, as their fixtures expose them (SGLang's,
// of which no exposition was captured, as its collector defines them). Each call returns
// a new slice: a histogram owns its bounds.

// vllmLatencyBuckets returns the bounds of vLLM latencies: end to end, queue, prefill,
// decode and inference time.
func vllmLatencyBuckets() []float64 {
	return []float64{0.3, 0.5, 0.8, 1, 1.5, 2, 2.5, 5, 10, 15, 20, 30, 40, 50, 60, 120, 240, 480, 960, 1920, 7680}
}

// vllmTokenLatencyBuckets returns the bounds of vLLM per-token latencies: inter-token
// latency and time per output token.
func vllmTokenLatencyBuckets() []float64 {
	return []float64{0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80}
}

// vllmTTFTBuckets returns the bounds of vLLM time to first token.
func vllmTTFTBuckets() []float64 {
	return []float64{0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80, 160, 640, 2560}
}

// vllmTokenBuckets returns the bounds of vLLM token counts per request.
func vllmTokenBuckets() []float64 {
	return []float64{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000}
}

// eppSchedulerBuckets returns the bounds of EPP plugin and scheduler latencies.
func eppSchedulerBuckets() []float64 {
	return []float64{0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1}
}

// eppPrefixHitBytesBuckets returns the bounds of EPP prefix indexer hit length in bytes.
func eppPrefixHitBytesBuckets() []float64 {
	return []float64{0, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536}
}

// eppPrefixHitRatioBuckets returns the bounds of EPP prefix indexer hit ratio.
func eppPrefixHitRatioBuckets() []float64 {
	return []float64{0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1}
}

// eppInputTokenBuckets returns the bounds of EPP input and cached prompt tokens (32778 is
// the real program's, not a typo here).
func eppInputTokenBuckets() []float64 {
	return []float64{1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32778, 65536, 131072, 262144, 524288, 1048576}
}

// eppOutputTokenBuckets returns the bounds of EPP output tokens.
func eppOutputTokenBuckets() []float64 {
	return []float64{1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192}
}

// eppDurationBuckets returns the bounds of EPP request latency.
func eppDurationBuckets() []float64 {
	return []float64{0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60, 120, 180, 240, 300, 360, 480, 600, 900, 1200, 1800, 2700, 3600}
}

// eppRequestSizeBuckets returns the bounds of EPP request sizes in bytes.
func eppRequestSizeBuckets() []float64 {
	return []float64{64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536, 131072, 262144, 524288, 1048576, 2097152, 4194304, 8388608, 16777216, 33554432, 67108864, 134217728, 268435456, 536870912, 1073741824}
}

// eppResponseSizeBuckets returns the bounds of EPP response sizes in bytes.
func eppResponseSizeBuckets() []float64 {
	return []float64{1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32778, 65536}
}

// eppFlowControlBuckets returns the bounds of EPP flow control queue wait, the same in
// both generations: llm-d-router's at ebab687 (pkg/epp/metrics, both the llm_d_epp_* name
// and its inference_extension_* twin; testdata/llm-d-epp-ebab687-live.txt) and the
// Gateway API Inference Extension's v1.2.1 (its pkg/epp/metrics/metrics.go: its capture
// has no flow control series).
func eppFlowControlBuckets() []float64 {
	return []float64{0.0001, 0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}
}

// SGLang's bounds are its TokenizerMetricsCollector's defaults
// (python/sglang/srt/observability/metrics_collector.py at 016d8605e458), which a server
// started without bucket flags exposes.

// sglangTTFTBuckets returns the bounds of SGLang's time to first token.
func sglangTTFTBuckets() []float64 {
	return []float64{0.1, 0.2, 0.4, 0.6, 0.8, 1, 2, 4, 6, 8, 10, 20, 40, 60, 80, 100, 200, 400}
}

// sglangInterTokenLatencyBuckets returns the bounds of SGLang's inter-token latency.
func sglangInterTokenLatencyBuckets() []float64 {
	return []float64{0.002, 0.004, 0.006, 0.008, 0.01, 0.015, 0.02, 0.025, 0.03, 0.035, 0.04, 0.06, 0.08, 0.1, 0.2, 0.4, 0.6, 0.8, 1, 2, 4, 6, 8}
}

// sglangE2EBuckets returns the bounds of SGLang's end-to-end request latency.
func sglangE2EBuckets() []float64 {
	return []float64{0.1, 0.2, 0.4, 0.6, 0.8, 1, 2, 4, 6, 8, 10, 20, 40, 60, 80, 100, 200, 400, 600, 1200, 1800, 2400}
}

// sglangTokenBuckets returns the bounds of SGLang's prompt and generation token
// histograms: one default list serves both.
func sglangTokenBuckets() []float64 {
	return []float64{100, 300, 500, 700, 1000, 1500, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000, 10000,
		12500, 15000, 17500, 20000, 22500, 25000, 27500, 30000, 35000, 40000, 60000, 80000, 100000,
		200000, 300000, 400000, 600000, 800000, 1000000, 1100000}
}
