package pod

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/podscrape/podscrape/internal/localcluster"
	"github.com/podscrape/podscrape/source"
)

// A pod deleted and recreated under its name (a StatefulSet's) is another pod: a sample
// exposes as points of their own timestamps is stored, whatever times the old pod's
// points of that series carried. Here both expose the last two runs of a batch job at
// fixed times (an exporter stamping each value with when it was measured); the new pod,
// at another IP, is another target to Prometheus, whose series gets its points. Keyed by
// the pod's name, the parser took the new pod's points for ones the history already held
// from the old, and dropped them: the answer kept the old pod's value.
func TestOwnTimestampsOfAPodRecreatedUnderItsName(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	ran := [2]int64{t0.Add(-2 * time.Minute).UnixMilli(), t0.Add(-time.Minute).UnixMilli()}
	ns := fmt.Sprintf("pod-%d", runs.Add(1))
	if err := cp.CreateNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	block := localcluster.NewAddressBlock()
	serveAt := func(ip string, port int, value string) int {
		t.Helper()
		srv, err := localcluster.Serve(ip, port, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain; version=0.0.4")
			_, _ = fmt.Fprintf(w, "last_run_rows %s %d\nlast_run_rows %s %d\n", value, ran[0], value, ran[1])
		}))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = srv.Close() })
		return srv.Port
	}
	oldIP, newIP := block.Next(), block.Next()
	port := serveAt(oldIP, 0, "1")
	serveAt(newIP, port, "7")
	sel := map[string]string{"app": "pod"}
	if err := cp.CreateService(ctx, ns, "pod", sel, int32(port)); err != nil {
		t.Fatal(err)
	}
	old, err := cp.CreatePod(ctx, localcluster.PodSpec{Namespace: ns, Name: "p", Labels: sel, IP: oldIP, Ready: true})
	if err != nil {
		t.Fatal(err)
	}
	s, clk := fakeClockSource(t, PodScrapingSourceConfig{ServiceName: "pod", ServiceNamespace: ns, MetricsPort: int32(port)}, t0,
		[]source.QueryTemplate{{Name: "rows", Template: "last_run_rows"}})
	byInstance := func() map[string]float64 { t.Helper(); return rowsBy(t, s, "instance") }
	oldInstance, newInstance := net.JoinHostPort(oldIP, strconv.Itoa(port)), net.JoinHostPort(newIP, strconv.Itoa(port))
	if got := byInstance(); got[oldInstance] != 1 {
		t.Fatalf("before the pod is recreated: %v, want 1 from %s", got, oldInstance)
	}

	if err := cp.Client.Delete(ctx, old, client.GracePeriodSeconds(0)); err != nil {
		t.Fatal(err)
	}
	recreated, err := cp.CreatePod(ctx, localcluster.PodSpec{Namespace: ns, Name: "p", Labels: sel, IP: newIP, Ready: true})
	if err != nil {
		t.Fatal(err)
	}
	clk.Step(15 * time.Second)
	if got := byInstance(); got[newInstance] != 7 {
		t.Errorf("after the pod is recreated at %s: %v, want the new pod's 7 from %s (its points stored)", newIP, got, newInstance)
	}

	// Recreated once more at the same IP: its series are the last pod's, whose points the
	// history holds. They are not handed to it again (byInstance fails on an Error, such
	// as an out-of-order one), as Prometheus' storage drops them without a word.
	if err := cp.Client.Delete(ctx, recreated, client.GracePeriodSeconds(0)); err != nil {
		t.Fatal(err)
	}
	if _, err := cp.CreatePod(ctx, localcluster.PodSpec{Namespace: ns, Name: "p", Labels: sel, IP: newIP, Ready: true}); err != nil {
		t.Fatal(err)
	}
	clk.Step(15 * time.Second)
	if got := byInstance(); got[newInstance] != 7 {
		t.Errorf("after the pod is recreated at the same IP: %v, want 7 from %s", got, newInstance)
	}
}

// A pod recreated under its name at the same IP but with another value of a pod label
// its series carry (PodLabels: a StatefulSet's pod recreated by a rollout with its new
// revision's label) gives other series, whose points the history does not hold: the new
// pod's points of its own timestamps are stored, as Prometheus stores the new target's.
// Keyed by the pod's name and IP alone, they were taken for the old pod's and dropped,
// and the answer had no value of the new pod. (The old pod's series, of own timestamps,
// are not marked stale, as in Prometheus: they answer until the lookback delta passes.)
func TestOwnTimestampsOfAPodRecreatedWithOtherPodLabels(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	ran := [2]int64{t0.Add(-2 * time.Minute).UnixMilli(), t0.Add(-time.Minute).UnixMilli()}
	ns := fmt.Sprintf("pod-%d", runs.Add(1))
	if err := cp.CreateNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	var value atomic.Int64
	value.Store(1)
	ip := localcluster.NewAddressBlock().Next()
	srv, err := localcluster.Serve(ip, 0, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		v := value.Load()
		_, _ = fmt.Fprintf(w, "last_run_rows %d %d\nlast_run_rows %d %d\n", v, ran[0], v, ran[1])
	}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	sel := map[string]string{"app": "pod"}
	if err := cp.CreateService(ctx, ns, "pod", sel, int32(srv.Port)); err != nil {
		t.Fatal(err)
	}
	withRevision := func(rev string) map[string]string { return map[string]string{"app": "pod", "revision": rev} }
	old, err := cp.CreatePod(ctx, localcluster.PodSpec{Namespace: ns, Name: "p", Labels: withRevision("a"), IP: ip, Ready: true})
	if err != nil {
		t.Fatal(err)
	}
	s, clk := fakeClockSource(t, PodScrapingSourceConfig{ServiceName: "pod", ServiceNamespace: ns, MetricsPort: int32(srv.Port), PodLabels: []string{"revision"}}, t0,
		[]source.QueryTemplate{{Name: "rows", Template: "last_run_rows"}})
	byRevision := func() map[string]float64 { t.Helper(); return rowsBy(t, s, "revision") }
	if got := byRevision(); got["a"] != 1 {
		t.Fatalf("before the pod is recreated: %v, want 1 of revision a", got)
	}
	// The same pod scraped again: its points the history holds are not handed to it
	// again (byRevision fails on an Error, such as an out-of-order one).
	clk.Step(15 * time.Second)
	if got := byRevision(); got["a"] != 1 {
		t.Fatalf("the same pod scraped again: %v, want 1 of revision a", got)
	}

	if err := cp.Client.Delete(ctx, old, client.GracePeriodSeconds(0)); err != nil {
		t.Fatal(err)
	}
	value.Store(7)
	if _, err := cp.CreatePod(ctx, localcluster.PodSpec{Namespace: ns, Name: "p", Labels: withRevision("b"), IP: ip, Ready: true}); err != nil {
		t.Fatal(err)
	}
	clk.Step(15 * time.Second)
	if got := byRevision(); got["b"] != 7 {
		t.Errorf("after the pod is recreated at the same IP with revision b: %v, want the new pod's 7 of revision b (its points stored)", got)
	}
}

// rowsBy refreshes s and returns the values of its query "rows" by the label named
// label; the test fails on the result's Error (an out-of-order one, say).
func rowsBy(t *testing.T, s *PodScrapingSource, label string) map[string]float64 {
	t.Helper()
	r := mustRefresh(t, s)["rows"]
	if r.Error != nil {
		t.Fatalf("rows: %v", r.Error)
	}
	got := map[string]float64{}
	for _, v := range r.Values {
		got[v.Labels[label]] = v.Value
	}
	return got
}
