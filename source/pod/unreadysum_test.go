package pod

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/podscrape/podscrape/internal/localcluster"
	"github.com/podscrape/podscrape/source"
)

// A model's scale-to-zero count, sum(increase(requests[w])), while one of its pods is not
// Ready: that pod is no longer scraped, so the window holds its requests up to its last
// scrape and none since, though a pod failing its readiness probe under a burst still
// completes the requests it holds. The count was a lower bound with a nil Error and only a
// warning: the upstream autoscaler's scale-to-zero reads Error (HasError) and never
// Warnings (its MetricResult has none), so an idle count there scaled the model to zero
// under that burst. A window that adds up series of a pod left out is now partial
// (ErrPartialWindow, LeftOut naming the pod); an estimate (rate) over the same series
// keeps its warning and a nil Error; the Error goes once the pod is scraped again.
func TestSumOverTimeOfAPodLeftOutIsPartial(t *testing.T) {
	ctx := context.Background()
	ns := fmt.Sprintf("unreadysum-%d", runs.Add(1))
	if err := cp.CreateNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cp.ReleaseTerminating(context.Background(), ns) })
	block := localcluster.NewAddressBlock()
	ips := map[string]string{"a": block.Next(), "b": block.Next()}
	var served atomic.Int64 // pod b's requests completed; pod a's stay 0
	port, sel := servePods(t, ctx, ns, "vllm", []string{ips["a"], ips["b"]}, func(ip string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			n := int64(0)
			if ip == ips["b"] {
				n = served.Load()
			}
			w.Header().Set("Content-Type", "text/plain; version=0.0.4")
			fmt.Fprintf(w, "# TYPE reqs_total counter\nreqs_total %d\n", n)
		})
	})
	for _, n := range []string{"a", "b"} {
		if _, err := cp.CreatePod(ctx, localcluster.PodSpec{Namespace: ns, Name: n, Labels: sel, IP: ips[n], Ready: true}); err != nil {
			t.Fatal(err)
		}
	}
	s, clk := fakeClockSource(t, PodScrapingSourceConfig{ServiceName: "vllm", ServiceNamespace: ns, MetricsPort: port}, t0,
		[]source.QueryTemplate{
			{Name: "count", Template: "sum(increase(reqs_total[2m]))"},
			{Name: "rate", Template: "sum(rate(reqs_total[1m]))"},
		})
	refresh := func() map[string]*source.MetricResult {
		t.Helper()
		clk.Step(15 * time.Second)
		return mustRefresh(t, s)
	}
	var rs map[string]*source.MetricResult
	for range 10 { // 2m15s: both windows held
		rs = refresh()
	}
	if c := rs["count"]; c.Error != nil || len(c.Values) != 1 || c.Values[0].Value != 0 {
		t.Fatalf("idle and whole: count %v, Error %v; want 0 and no Error", c.Values, c.Error)
	}

	// b turns not Ready under a burst and completes 50 requests unseen.
	setReady(t, ns, "b", false)
	served.Store(50)
	rs = refresh()
	c := rs["count"]
	if !c.HasError() || !errors.Is(c.Error, ErrPartialWindow) {
		t.Fatalf("pod b not Ready: count %v, Error %v; want ErrPartialWindow: 0 is not idle", c.Values, c.Error)
	}
	var pw *PartialWindowError
	if !errors.As(c.Error, &pw) || pw.Func != "increase" || pw.Window != 2*time.Minute || !strings.Contains(pw.LeftOut, "pod b: not Ready") {
		t.Fatalf("pod b not Ready: Error %v (%+v), want a *PartialWindowError of increase over 2m naming pod b", c.Error, pw)
	}
	if want := `query "count": increase over 2m0s adds up series of pods no longer scraped`; !strings.Contains(c.Error.Error(), want) {
		t.Errorf("Error %q, want it to contain %q", c.Error, want)
	}
	if r := rs["rate"]; r.Error != nil || len(r.Warnings) == 0 {
		t.Errorf("pod b not Ready: rate Error %v, warnings %q; want no Error and the warning", r.Error, r.Warnings)
	}

	// b is scraped again: its 50 requests are counted, the answer is whole.
	setReady(t, ns, "b", true)
	rs = refresh()
	if c := rs["count"]; c.Error != nil || len(c.Values) != 1 || c.Values[0].Value <= 0 {
		t.Fatalf("pod b Ready again: count %v, Error %v; want above 0 and no Error", c.Values, c.Error)
	}
}
