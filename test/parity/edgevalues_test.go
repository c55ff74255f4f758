package parity

import (
	"context"
	"fmt"
	"math"
	"sync/atomic"
	"testing"
	"time"
)

// The values an exposition can hold that arithmetic treats specially, through the whole
// pipeline (parse, history, engine) against the real server's, step after step at the
// same instant: NaN (a value, never read as stale), ±Inf, -0 (its sign kept), float64's
// extremes, a counter past 2^53 that resets, a gauge jumping from 1e300 to 5e-324 and
// back. Only expressions that do not depend on when each side scraped are compared.
func TestEdgeValuesAnswerAsPrometheus(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	names := []string{"vllm-a", "vllm-b"}
	var body [2]atomic.Pointer[string]
	gauges := []string{"NaN", "+Inf", "-Inf", "-0", "1e300", "5e-324", "-1.7976931348623157e308", "0"}
	counters := []string{"9007199254740993", "9007199254740995", "3", "18446744073709551616", "1e-10"}
	expose := func(step int) {
		a := fmt.Sprintf("# TYPE edge gauge\nedge{k=\"1\"} %s\nedge{k=\"2\"} %s\nnan_gauge NaN\n# TYPE big counter\nbig_total %s\n",
			gauges[step%len(gauges)], gauges[(step+3)%len(gauges)], counters[step%len(counters)])
		b := fmt.Sprintf("# TYPE edge gauge\nedge{k=\"1\"} %s\nnan_gauge %s\n# TYPE big counter\nbig_total %s\n",
			gauges[(step+5)%len(gauges)], gauges[step%2*4], counters[(step+2)%len(counters)])
		body[0].Store(&a)
		body[1].Store(&b)
	}
	expose(0)
	queries := map[string]string{
		"edge":      `edge`,
		"sum":       `sum by (k) (edge)`,
		"nan":       `nan_gauge`,
		"nan_count": `count(nan_gauge)`,
		"neg_zero":  `edge == 0`,
		"big":       `big_total`,
		"big_sum":   `sum(big_total)`,
		"resets":    `resets(big_total[5m])`,
		"changes":   `changes(edge[5m])`,
		"max":       `max_over_time(edge[5m])`,
		"min":       `min_over_time(edge[5m])`,
		"last":      `last_over_time(nan_gauge[5m])`,
		"ratio":     `edge / on(pod) group_left big_total`,
		"sign":      `sgn(edge)`,
	}
	sc := startScene(t, ctx, sceneSpec{prefix: "edge", names: names, handler: exposingCurrent(names, body[:]), queries: queries})
	for step := 0; step < 9; step++ {
		if step > 0 {
			expose(step)
		}
		compareStepAt(t, ctx, sc, len(names), step, queries, "edge", sameBits)
	}
}

// sameBits reports whether a and b hold the same series with the same values: NaN equal
// to NaN, -0 not equal to 0.
func sameBits(a, b series) bool {
	if len(a) != len(b) {
		return false
	}
	for k, x := range a {
		y, ok := b[k]
		if !ok {
			return false
		}
		if !(math.IsNaN(x) && math.IsNaN(y)) && (x != y || math.Signbit(x) != math.Signbit(y)) {
			return false
		}
	}
	return true
}
