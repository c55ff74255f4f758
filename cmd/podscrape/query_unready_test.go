package main

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// TestQueryWatchPodTurnedNotReadyIsNotMatchedNothing: under query --watch, the only pod
// exposing q answers, then fails its readiness probe (under load, the busiest pod). The
// source warns that it is no longer scraped; the frame must not also say the query
// matched nothing (or, for a windowed query, that its selector matches nothing and the
// metric name should be checked): the series exist, their pod is left out, and an
// operator reading "matched nothing" chases a typo instead of a saturated pod.
func TestQueryWatchPodTurnedNotReadyIsNotMatchedNothing(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ base, expr string }{
		{"qunready-inst", "q"},
		{"qunready-rate", "rate(q[1s])"},
	} {
		t.Run(tc.expr, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			svc := newTestService(t, tc.base,
				exposing(textFormat, "# TYPE other gauge\nother 1\n"),
				exposing(textFormat, "# TYPE q counter\nq 7\n"))
			busy := svc.name + "-1"
			ch, stderr, _ := watchBinaryFrames(t, "Every ", "-n", svc.namespace, "query", tc.expr, svc.name,
				"--port", port(svc.port), "--watch", "50ms")
			for !strings.Contains(nextFrame(t, ctx, ch, stderr), `pod="`+busy+`"`) {
			}
			var p corev1.Pod
			if err := cp.Client.Get(ctx, client.ObjectKey{Namespace: svc.namespace, Name: busy}, &p); err != nil {
				t.Fatal(err)
			}
			if err := cp.SetPodStatus(ctx, &p, p.Status.PodIP, false); err != nil {
				t.Fatal(err)
			}
			for {
				frame := nextFrame(t, ctx, ch, stderr)
				if !strings.Contains(frame, "no longer scraped") {
					continue // refreshed before the pod's status reached it
				}
				if strings.Contains(frame, `pod="`+busy+`"`) {
					continue // the series not stale yet
				}
				if strings.Contains(frame, "matched nothing") || strings.Contains(frame, "check the metric name") {
					t.Fatalf("a frame leaving out a pod no longer Ready says the query matched nothing:\n%s", frame)
				}
				mustContain(t, "frame", frame, "pod "+busy+": not Ready")
				return
			}
		})
	}
}
