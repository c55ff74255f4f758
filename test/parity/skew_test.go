package parity

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/podscrape/podscrape/source"
	"github.com/podscrape/podscrape/source/pod"
)

// Pods whose samples carry their own timestamps ahead of the scrape, beside healthy
// pods that expose a value moving at every step: one 5 minutes ahead (within Prometheus' 10-minute tolerance: stored, but in the
// future of every query instant), one 20 minutes ahead (refused). The pod source answers
// as the real Prometheus server does, at the same instant, at every step: the healthy
// pods' samples are never refused because of another pod's clock, every pod stays up,
// and neither future sample is visible. The pod source says in the Error of the queries
// reading the refused metric, and only theirs, that it refused samples.
func TestSkewedTimestampsAnswerAsPrometheus(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	names := []string{"vllm-0", "vllm-1", "vllm-ahead", "vllm-far-ahead"}
	ahead := map[string]struct {
		metric string
		by     time.Duration
	}{
		"vllm-ahead":     {"ahead_total", 5 * time.Minute},
		"vllm-far-ahead": {"far_ahead_total", 20 * time.Minute},
	}
	var requests, stepNow atomic.Int64 // stepNow: the healthy value every pod exposes
	handler := func(name string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			n := requests.Add(1)
			w.Header().Set("Content-Type", "text/plain; version=0.0.4")
			body := fmt.Sprintf("healthy %d\n", stepNow.Load())
			if a, ok := ahead[name]; ok {
				body += fmt.Sprintf("# TYPE %s counter\n%s %d %d\n", strings.TrimSuffix(a.metric, "_total"), a.metric, n, time.Now().Add(a.by).UnixMilli())
			}
			_, _ = w.Write([]byte(body))
		})
	}
	queries := map[string]string{
		"healthy":   `sum by (pod) (healthy)`,
		"total":     `sum(healthy)`,
		"up":        `sum by (pod) (up)`,
		"ahead":     `sum by (pod) (ahead_total)`,
		"far_ahead": `sum by (pod) (far_ahead_total)`,
	}
	sc := startScene(t, ctx, sceneSpec{prefix: "skew", names: names, handler: handler, queries: queries})
	prom, src := sc.prom, sc.src

	for step := 1; step <= 4; step++ {
		stepNow.Store(int64(step)) // a value that moves: a frozen series would show
		waitScraped(t, ctx, prom, time.Now(), len(names))
		results, err := src.Refresh(ctx, source.RefreshSpec{})
		if err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
		at := results["total"].CollectedAt
		for name, q := range queries {
			r := results[name]
			switch {
			case name == "far_ahead" && !errors.Is(r.Error, pod.ErrSampleAhead):
				t.Errorf("step %d: %s: got Error %v, want ErrSampleAhead", step, name, r.Error)
			case name != "far_ahead" && r.Error != nil:
				t.Errorf("step %d: %s: got Error %v, want none: another pod's clock is not this query's", step, name, r.Error)
			}
			v, _, _, err := prom.API.Query(ctx, q, at)
			if err != nil {
				t.Fatalf("step %d: %s on Prometheus: %v", step, name, err)
			}
			if got, want := ours(r), theirs(v); !maps.Equal(got, want) {
				t.Errorf("step %d: %s at %s:\n ours   %v\n theirs %v", step, name, at.Format(time.RFC3339Nano), got, want)
			}
		}
		if got, want := results["total"].FirstValue().Value, float64(len(names)*step); got != want {
			t.Errorf("step %d: sum(healthy) = %v, want %v: no pod's samples refused for another's clock", step, got, want)
		}
	}
}
