package localcluster_test

import (
	"math"
	"strconv"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"

	"github.com/podscrape/podscrape/internal/localcluster"
)

// seriesKey names one series of a family: its label pairs in order.
func seriesKey(m *dto.Metric) string {
	var b strings.Builder
	for _, l := range m.Label {
		b.WriteString(l.GetName() + "=" + l.GetValue() + ",")
	}
	return b.String()
}

// The simulated pods' values behave as the real programs' do, step after step, in both
// generations: counters and histograms never go down; a histogram's buckets are
// cumulative, its +Inf bucket its count; utilizations and hit rates stay within 0-1 and
// no gauge goes negative.
func TestSimulatedValuesStayConsistent(t *testing.T) {
	pods := []string{"epp-0", "epp-1", "vllm-0", "vllm-1", "vllm-idle", "sglang-0"}
	unit := func(name string) bool {
		return strings.Contains(name, "kv_cache_usage") || strings.Contains(name, "kv_cache_utilization") ||
			name == "sglang:token_usage" || name == "sglang:cache_hit_rate"
	}
	for _, gen := range []localcluster.Generation{localcluster.Current, localcluster.Previous} {
		t.Run(gen.String(), func(t *testing.T) {
			s := localcluster.NewSimulation(localcluster.SimulationOptions{
				Seed: 11, EPPPods: []string{"epp-0", "epp-1"}, ModelServerPods: []string{"vllm-0", "vllm-1"},
				IdleModelServerPods: []string{"vllm-idle"}, SGLangPods: []string{"sglang-0"}, Generation: gen,
			})
			last := map[string]float64{} // pod, family, series, part -> value
			for step := range 150 {
				s.Step()
				for _, pod := range pods {
					for name, f := range parse(t, pod, s.Exposition(pod)) {
						for _, m := range f.Metric {
							key := pod + " " + name + "{" + seriesKey(m) + "}"
							rising := func(part string, v float64) {
								if prev, ok := last[key+part]; ok && v < prev {
									t.Errorf("step %d: %s%s went down from %v to %v", step, key, part, prev, v)
								}
								last[key+part] = v
							}
							switch f.GetType() {
							case dto.MetricType_COUNTER:
								rising("", m.GetCounter().GetValue())
							case dto.MetricType_GAUGE:
								v := m.GetGauge().GetValue()
								if v < 0 || (unit(name) && v > 1) || math.IsNaN(v) {
									t.Errorf("step %d: %s = %v, out of bounds", step, key, v)
								}
							case dto.MetricType_HISTOGRAM:
								h := m.GetHistogram()
								rising("_count", float64(h.GetSampleCount()))
								rising("_sum", h.GetSampleSum())
								prev := 0.0
								for _, b := range h.GetBucket() {
									c := float64(b.GetCumulativeCount())
									if c < prev {
										t.Errorf("step %d: %s le=%v: %v below the bucket before it (%v)", step, key, b.GetUpperBound(), c, prev)
									}
									prev = c
									rising("le="+formatBound(b.GetUpperBound()), c)
								}
								if b := h.GetBucket(); len(b) == 0 || !math.IsInf(b[len(b)-1].GetUpperBound(), 1) ||
									b[len(b)-1].GetCumulativeCount() != h.GetSampleCount() {
									t.Errorf("step %d: %s: +Inf bucket is not the count %d", step, key, h.GetSampleCount())
								}
							}
						}
					}
				}
			}
		})
	}
}

func formatBound(b float64) string { return strconv.FormatFloat(b, 'g', -1, 64) }
