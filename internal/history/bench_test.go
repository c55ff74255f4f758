package history

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
)

// The autoscaler's queries, filled, as the pod source evaluates them.
var benchQueries = map[string]string{
	"scheduler_queue_size":  `sum(inference_extension_flow_control_queue_size{target_model_name="m"}) or sum(inference_extension_flow_control_queue_size{model_name="m",target_model_name=""})`,
	"scheduler_queue_bytes": `sum(inference_extension_flow_control_queue_bytes{target_model_name="m"}) or sum(inference_extension_flow_control_queue_bytes{model_name="m",target_model_name=""})`,
	"kv_cache_usage":        `max by (pod) (max_over_time(vllm:kv_cache_usage_perc{namespace="ns",model_name="m"}[1m]))`,
	"queue_length":          `max by (pod) (max_over_time(vllm:num_requests_waiting{namespace="ns",model_name="m"}[1m]))`,
	"cache_config_info":     `max by (pod, num_gpu_blocks, block_size) (vllm:cache_config_info{namespace="ns",model_name="m"})`,
	"avg_output_tokens":     `max by (pod) (rate(vllm:request_generation_tokens_sum{namespace="ns",model_name="m"}[5m]) / rate(vllm:request_generation_tokens_count{namespace="ns",model_name="m"}[5m]))`,
	"avg_input_tokens":      `max by (pod) (rate(vllm:request_prompt_tokens_sum{namespace="ns",model_name="m"}[5m]) / rate(vllm:request_prompt_tokens_count{namespace="ns",model_name="m"}[5m]))`,
	"prefix_cache_hit_rate": `max by (pod) (rate(vllm:prefix_cache_hits{namespace="ns",model_name="m"}[5m]) / rate(vllm:prefix_cache_queries{namespace="ns",model_name="m"}[5m]))`,
	"model_request_count":   `sum(increase(vllm:request_success_total{namespace="ns",model_name="m"}[10m]))`,
}

// benchSeries are the series one vLLM pod exposes that the queries read, as
// name, extra label pairs.
var benchSeries = [][]string{
	{"vllm:kv_cache_usage_perc"},
	{"vllm:num_requests_waiting"},
	{"vllm:cache_config_info", "block_size", "16", "num_gpu_blocks", "4096"},
	{"vllm:request_generation_tokens_sum"},
	{"vllm:request_generation_tokens_count"},
	{"vllm:request_prompt_tokens_sum"},
	{"vllm:request_prompt_tokens_count"},
	{"vllm:prefix_cache_hits"},
	{"vllm:prefix_cache_queries"},
	{"vllm:request_success_total", "finish_reason", "stop"},
	{"vllm:request_success_total", "finish_reason", "length"},
	{"vllm:request_success_total", "finish_reason", "abort"},
	{"up"},
}

// benchEPPSeries are the series one EPP pod exposes that the scheduler queries read.
var benchEPPSeries = [][]string{
	{"inference_extension_flow_control_queue_size", "target_model_name", "m", "inference_pool", "pool"},
	{"inference_extension_flow_control_queue_bytes", "target_model_name", "m", "inference_pool", "pool"},
	{"up"},
}

// benchTarget is one bench pod and the series it exposes.
type benchTarget struct {
	target string
	lsets  []labels.Labels
}

// benchTargets returns pods vLLM pods and epps EPP pods with their series.
func benchTargets(pods, epps int) []benchTarget {
	var all []benchTarget
	add := func(kind string, n int, series [][]string, model []string) {
		for p := range n {
			ps := benchTarget{target: fmt.Sprintf("ns/%s-%d", kind, p)}
			for _, s := range series {
				kv := append([]string{"__name__", s[0], "namespace", "ns", "pod", fmt.Sprintf("%s-%d", kind, p)}, model...)
				ps.lsets = append(ps.lsets, labels.FromStrings(append(kv, s[1:]...)...))
			}
			all = append(all, ps)
		}
	}
	add("vllm", pods, benchSeries, []string{"model_name", "m"})
	add("epp", epps, benchEPPSeries, nil)
	return all
}

// fillScrapes sets scrapes (allocated on first use) to step's scrape of every target at
// time at: counters rising, the KV cache gauge cycling.
func fillScrapes(scrapes []Scrape, all []benchTarget, step int, at time.Time) []Scrape {
	if scrapes == nil {
		scrapes = make([]Scrape, len(all))
		for p := range all {
			scrapes[p] = Scrape{Target: all[p].target, Samples: make([]Sample, len(all[p].lsets))}
		}
	}
	for p := range all {
		sc := &scrapes[p]
		sc.Time = at
		for i, ls := range all[p].lsets {
			v := float64(step*(i+1) + p)
			if strings.HasPrefix(ls.Get("__name__"), "vllm:kv") {
				v = float64((step+p)%100) / 100
			}
			sc.Samples[i] = Sample{Labels: ls, T: at.UnixMilli(), V: v}
		}
	}
	return scrapes
}

// fillHistory appends steps scrapes, every interval, of pods vLLM pods and epps EPP pods,
// and returns the time of the last one.
func fillHistory(tb testing.TB, h *History, pods, epps, steps int, interval time.Duration) time.Time {
	tb.Helper()
	all := benchTargets(pods, epps)
	var at time.Time
	var scrapes []Scrape
	for step := range steps {
		at = t0.Add(time.Duration(step) * interval)
		scrapes = fillScrapes(scrapes, all, step, at)
		if _, err := h.Append(context.Background(), at, scrapes); err != nil {
			tb.Fatal(err)
		}
	}
	return at
}

// BenchmarkQuery evaluates each of the autoscaler's queries over 10 minutes of 15 s
// history of 200 vLLM pods and 2 EPPs (the BENCH.md goal: under 5 ms each).
//
//	go test ./internal/history -run '^$' -bench 'BenchmarkQuery' -benchtime 200x
func BenchmarkQuery(b *testing.B) {
	h := newHistory(b, Options{})
	at := fillHistory(b, h, 200, 2, 41, 15*time.Second)
	for _, name := range []string{"kv_cache_usage", "queue_length", "cache_config_info", "avg_output_tokens", "avg_input_tokens", "prefix_cache_hit_rate", "model_request_count", "scheduler_queue_size", "scheduler_queue_bytes"} {
		expr := benchQueries[name]
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				res, err := h.Query(context.Background(), expr, at)
				if err != nil {
					b.Fatal(err)
				}
				if len(res.Points) == 0 {
					b.Fatal("empty result")
				}
			}
		})
	}
}

// BenchmarkMemory reports what history costs: live heap bytes per series and per stored
// sample, for 200 pods × 13 series over 10 minutes of 15 s scrapes.
//
//	go test ./internal/history -run '^$' -bench 'BenchmarkMemory' -benchtime 1x
func BenchmarkMemory(b *testing.B) {
	for b.Loop() {
		before := liveHeap()
		h := newHistory(b, Options{})
		const pods, steps = 200, 41
		fillHistory(b, h, pods, 0, steps, 15*time.Second)
		after := liveHeap()
		series := float64(h.NumSeries())
		samples := series * steps
		b.ReportMetric(float64(after-before)/series, "B/series")
		b.ReportMetric(float64(after-before)/samples, "B/sample")
		runtime.KeepAlive(h)
	}
}

func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkAppend is the cost of one Append: one scrape of 200 vLLM pods × 13 series and
// 2 EPP pods, into a history that already holds 10 minutes of them (retention at work).
// B/op and allocs/op are the history's alone: the scrapes are rebuilt in place.
//
//	go test ./internal/history -run '^$' -bench 'BenchmarkAppend' -benchtime 400x
func BenchmarkAppend(b *testing.B) {
	h := newHistory(b, Options{})
	const steps = 41
	at := fillHistory(b, h, 200, 2, steps, 15*time.Second)
	all := benchTargets(200, 2)
	var scrapes []Scrape
	step := steps
	b.ReportAllocs()
	for b.Loop() {
		step++
		at = at.Add(15 * time.Second)
		scrapes = fillScrapes(scrapes, all, step, at)
		if _, err := h.Append(context.Background(), at, scrapes); err != nil {
			b.Fatal(err)
		}
	}
	samples := 0
	for _, t := range all {
		samples += len(t.lsets)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(samples), "ns/sample")
}
