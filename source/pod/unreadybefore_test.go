package pod

import (
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/podscrape/podscrape/internal/history"
)

// BenchmarkUnreadyReadAfterClockStep measures unreadyRead, once per PromQL result of a
// refresh, within a retention after the clock stepped back (the history started over,
// its series before kept to tell which pods not Ready held what a query reads), while
// half the pods are not Ready, at 200 and 2,000 pods of 14 series each: about 10 times
// when linear.
//
//	go test ./source/pod -run '^$' -bench UnreadyReadAfterClockStep -benchtime 20x
func BenchmarkUnreadyReadAfterClockStep(b *testing.B) {
	for _, pods := range []int{200, 2000} {
		b.Run(fmt.Sprintf("pods=%d", pods), func(b *testing.B) {
			store, before, unready := heldBeforeStep(b, pods)
			b.ReportAllocs()
			for b.Loop() {
				if got := unreadyRead(store, before, unreadyStepExpr, unready); len(got) != len(unready) {
					b.Fatalf("%d of the %d pods not Ready read", len(got), len(unready))
				}
			}
		})
	}
}

// unreadyStepExpr reads one series of each pod of heldBeforeStep.
const unreadyStepExpr = `sum(vllm:metric_13{model_name="m"})`

// heldBeforeStep returns an empty history (started over), the 14 series each of pods
// pods it held before, and every other pod, not Ready.
func heldBeforeStep(tb testing.TB, pods int) (*history.History, []labels.Labels, []unreadyPod) {
	store, err := history.New(history.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = store.Close() })
	var before []labels.Labels
	var unready []unreadyPod
	for p := range pods {
		name := fmt.Sprintf("vllm-%d", p)
		for i := range 14 {
			before = append(before, labels.FromStrings("__name__", fmt.Sprintf("vllm:metric_%d", i), "model_name", "m", "namespace", "ns", "pod", name))
		}
		if p%2 == 0 {
			unready = append(unready, unreadyPod{name: name, why: "not Ready"})
		}
	}
	return store, before, unready
}

// TestUnreadyReadAfterClockStepLinearInPods: after the clock stepped back, which pods
// not Ready held a series a query reads is told from the series held before, each pod
// from its own. Each pod scanned every pod's series: at 2,000 pods, half not Ready,
// half a second for each PromQL result of every refresh for a retention. 10 times the
// pods may take 10 to 40 times as long (the fastest of 5 runs each), not 100.
func TestUnreadyReadAfterClockStepLinearInPods(t *testing.T) {
	fastest := func(pods int) time.Duration {
		store, before, unready := heldBeforeStep(t, pods)
		var best time.Duration
		for i := range 5 {
			start := time.Now()
			if got := unreadyRead(store, before, unreadyStepExpr, unready); len(got) != len(unready) {
				t.Fatalf("%d of the %d pods not Ready read", len(got), len(unready))
			}
			if d := time.Since(start); i == 0 || d < best {
				best = d
			}
		}
		return best
	}
	small, large := fastest(500), fastest(5000)
	t.Logf("500 pods: %s, 5,000 pods: %s (%.0fx)", small, large, float64(large)/float64(small))
	if large > 40*small {
		t.Errorf("10 times the pods took %.0f times as long (%s against %s): quadratic", float64(large)/float64(small), large, small)
	}
}
