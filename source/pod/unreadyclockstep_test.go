package pod

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/podscrape/podscrape/internal/localcluster"
	"github.com/podscrape/podscrape/source"
)

// A pod not Ready (the busiest one, failing its readiness probe under load) when the
// clock is stepped back: the history starts over without its series, but the answer
// still leaves it out, so a PromQL result reading its series still says so, for the
// retention, as it did before the step; it said nothing, a smaller load with no warning.
func TestUnreadyPodWarnedAcrossClockStepBack(t *testing.T) {
	ctx := context.Background()
	ns := fmt.Sprintf("unready-step-%d", runs.Add(1))
	if err := cp.CreateNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cp.ReleaseTerminating(context.Background(), ns) })
	block := localcluster.NewAddressBlock()
	ips := map[string]string{"a": block.Next(), "b": block.Next()}
	port, sel := servePods(t, ctx, ns, "vllm", []string{ips["a"], ips["b"]}, func(ip string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain; version=0.0.4")
			fmt.Fprint(w, "# TYPE waiting gauge\nwaiting 3\n")
		})
	})
	for _, n := range []string{"a", "b"} {
		if _, err := cp.CreatePod(ctx, localcluster.PodSpec{Namespace: ns, Name: n, Labels: sel, IP: ips[n], Ready: true}); err != nil {
			t.Fatal(err)
		}
	}
	s, clk := fakeClockSource(t, PodScrapingSourceConfig{ServiceName: "vllm", ServiceNamespace: ns, MetricsPort: port}, t0,
		[]source.QueryTemplate{{Name: "sum", Template: "sum(waiting)"}})
	warnsOfB := func(when string) {
		t.Helper()
		r := mustRefresh(t, s)["sum"]
		if w := strings.Join(r.Warnings, "\n"); !strings.Contains(w, "pod b: not Ready") {
			t.Errorf("%s: sum: %v, warnings %q, want one naming pod b not Ready", when, r.Values, r.Warnings)
		}
	}
	mustRefresh(t, s)
	clk.Step(15 * time.Second)
	setReady(t, ns, "b", false)
	warnsOfB("b not Ready")
	clk.Step(-time.Minute) // NTP steps back a clock that ran ahead
	warnsOfB("the clock stepped back")
	clk.Step(15 * time.Second)
	warnsOfB("the refresh after the step")
}
