package parity

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/podscrape/podscrape/source"
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
	handler := func(name string) http.Handler {
		i := 0
		if name == "vllm-b" {
			i = 1
		}
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain; version=0.0.4")
			_, _ = w.Write([]byte(*body[i].Load()))
		})
	}
	stepAt := map[int]int64{} // each step's own timestamp, ms
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
	sc := startScene(t, ctx, sceneSpec{prefix: "ownts", names: names, handler: handler, queries: queries})
	prom, src := sc.prom, sc.src
	for step := 1; step <= 5; step++ {
		if step > 1 {
			expose(step)
		}
		waitScraped(t, ctx, prom, time.Now(), len(names))
		results, err := src.Refresh(ctx, source.RefreshSpec{})
		if err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
		at := results["up"].CollectedAt
		// Prometheus has scraped this step's exposition before at, as we have.
		waitScraped(t, ctx, prom, at, len(names))
		for name, q := range queries {
			v, _, _, err := prom.API.Query(ctx, q, at)
			if err != nil {
				t.Fatalf("step %d: %s on Prometheus: %v", step, name, err)
			}
			if got, want := ours(results[name]), theirs(v); !maps.Equal(got, want) {
				t.Errorf("step %d: %s at %s:\n ours   %v (Error %v)\n theirs %v", step, name, at.Format(time.RFC3339Nano), got, results[name].Error, want)
			}
		}
	}
}
