package parity

import (
	"context"
	"fmt"
	"maps"
	"sync/atomic"
	"testing"
	"time"
)

// The history's own series bookkeeping against the real server's, step after step over
// the same expositions, at the same instant: a series that vanishes and comes back
// (staleness markers), a gauge with timestamps of its own that goes back in time (the
// older sample dropped) and then vanishes (no staleness marker: visible for the lookback
// delta), and a gauge exposed again and again at one timestamp with a new value (the
// first kept).
func TestOwnTimestampsAndStalenessAnswerAsPrometheus(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	names := []string{"vllm-a", "vllm-b"}
	var body [2]atomic.Pointer[string] // each pod's exposition of the current step
	stepAt := map[int]int64{}          // each step's own timestamp, ms
	expose := func(step int) {
		now := time.Now().Add(-time.Second).UnixMilli()
		stepAt[step] = now
		a := ""
		if step%2 == 1 {
			a += "flap 1\n"
		}
		switch {
		case step <= 2:
			a += fmt.Sprintf("own_gauge %d %d\n", step, now)
		case step == 3:
			a += fmt.Sprintf("own_gauge %d %d\n", step, stepAt[1]) // back in time
		}
		a += fmt.Sprintf("dup_gauge %d %d\n", step, stepAt[1])
		b := fmt.Sprintf("flap 2\nplain %d\n", step)
		body[0].Store(&a)
		body[1].Store(&b)
	}
	expose(1)
	queries := map[string]string{
		"flap":       `sum by (pod) (flap)`,
		"flaps":      `count(flap)`,
		"own":        `own_gauge`,
		"own_ts":     `timestamp(own_gauge)`,
		"own_count":  `count_over_time(own_gauge[5m])`,
		"dup":        `dup_gauge`,
		"up":         `sum by (pod) (up)`,
		"plain":      `plain`,
		"last_flap":  `last_over_time(flap[5m])`,
		"flap_count": `count by (pod) (count_over_time(flap[5m]) > 0)`,
	}
	sc := startScene(t, ctx, sceneSpec{prefix: "ownts", names: names, handler: exposingCurrent(names, body[:]), queries: queries})
	for step := 1; step <= 5; step++ {
		if step > 1 {
			expose(step)
		}
		compareStepAt(t, ctx, sc, len(names), step, queries, "up", maps.Equal[series, series])
	}
}
