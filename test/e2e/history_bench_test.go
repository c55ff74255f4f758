package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/podscrape/podscrape/source"
	"github.com/podscrape/podscrape/source/llmd"
	"github.com/podscrape/podscrape/source/pod"
)

// BenchmarkRefreshHistory is the cost of keeping PromQL history: the same refresh of 200
// loopback vLLM pods (all_metrics, cap 50) without PromQL queries registered, and with the
// autoscaler's vLLM queries registered, so every refresh also appends to the history the
// series those queries can read (BENCH.md goal: at most 1.3x).
//
//	go test ./test/e2e -run '^$' -bench 'RefreshHistory' -count 3
func BenchmarkRefreshHistory(b *testing.B) {
	svc := vllmService(b, 200)
	for _, history := range []bool{false, true} {
		name := "history=off"
		if history {
			name = "history=on"
		}
		b.Run(name, func(b *testing.B) {
			src := svc.source(b, 50)
			if history {
				if err := llmd.Register(src.QueryList(), llmd.VLLMQueries()); err != nil {
					b.Fatal(err)
				}
			}
			ctx := context.Background()
			spec := source.RefreshSpec{Queries: []string{pod.AllMetricsQuery}}
			if _, err := src.Refresh(ctx, spec); err != nil { // warm connections, interner, history
				b.Fatal(err)
			}
			b.ReportAllocs()
			before := readStats()
			start := time.Now()
			for b.Loop() {
				results, err := src.Refresh(ctx, spec)
				if err != nil || results[pod.AllMetricsQuery].Error != nil {
					b.Fatal(err, results[pod.AllMetricsQuery].Error)
				}
			}
			after := readStats()
			reportPerSample(b, 200*svc.samples, start, before, after)
		})
	}
}
