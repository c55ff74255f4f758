package pod

import (
	"fmt"
	"testing"

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
