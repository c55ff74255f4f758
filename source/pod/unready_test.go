package pod

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/podscrape/podscrape/internal/localcluster"
	"github.com/podscrape/podscrape/source"
)

// updatePod reads pod name of ns, applies change and writes it back: its status
// (through the status subresource) when status is set, else the object.
func updatePod(t *testing.T, ns, name string, status bool, change func(*corev1.Pod)) {
	t.Helper()
	ctx := context.Background()
	var p corev1.Pod
	if err := cp.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &p); err != nil {
		t.Fatal(err)
	}
	change(&p)
	var err error
	if status {
		err = cp.Client.Status().Update(ctx, &p)
	} else {
		err = cp.Client.Update(ctx, &p)
	}
	if err != nil {
		t.Fatalf("update pod %s/%s: %v", ns, name, err)
	}
}

// setReady sets the Ready condition of pod name of ns, keeping its IP.
func setReady(t *testing.T, ns, name string, ready bool) {
	t.Helper()
	var p corev1.Pod
	if err := cp.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, &p); err != nil {
		t.Fatal(err)
	}
	if err := cp.SetPodStatus(context.Background(), &p, p.Status.PodIP, ready); err != nil {
		t.Fatal(err)
	}
}

// One of a model's pods failing its readiness probe under load (the busiest one) is no
// longer scraped: its series go stale and sum(...) over the pods, all_metrics and a
// metric-name result leave it out. A pod whose scrape failed is in Error; the pod not
// Ready was left out with a nil Error and no warning, a smaller load with nothing to say
// so. It is named in Warnings now (never in Error: no Ready pod at all is still an empty
// answer), as is one that finished (evicted), while its series are held; not a pod
// terminating or deleted (a scale-down), nor one starting that was never scraped; and
// the warning goes when the pod is Ready again, or its series leave the history.
func TestPodsTurnedNotReadyAreWarned(t *testing.T) {
	ctx := context.Background()
	ns := fmt.Sprintf("unready-%d", runs.Add(1))
	if err := cp.CreateNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cp.ReleaseTerminating(context.Background(), ns) })
	block := localcluster.NewAddressBlock()
	names := []string{"a", "b", "c", "d", "e", "starting"}
	ips := map[string]string{}
	var all []string
	for _, n := range names {
		ips[n] = block.Next()
		all = append(all, ips[n])
	}
	waiting := map[string]int{"a": 1, "b": 9, "c": 3, "d": 4, "e": 5, "starting": 7}
	byIP := map[string]string{}
	for n, ip := range ips {
		byIP[ip] = n
	}
	port, sel := servePods(t, ctx, ns, "vllm", all, func(ip string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain; version=0.0.4")
			fmt.Fprintf(w, "# TYPE waiting gauge\nwaiting %d\n", waiting[byIP[ip]])
		})
	})
	for _, n := range names[:5] {
		if _, err := cp.CreatePod(ctx, localcluster.PodSpec{Namespace: ns, Name: n, Labels: sel, IP: ips[n], Ready: true}); err != nil {
			t.Fatal(err)
		}
	}
	s, clk := fakeClockSource(t, PodScrapingSourceConfig{ServiceName: "vllm", ServiceNamespace: ns, MetricsPort: port}, t0,
		[]source.QueryTemplate{
			{Name: "sum", Template: "sum(waiting)"},
			{Name: "a alone", Template: `sum(waiting{pod="a"})`},
			{Name: "up", Template: "sum(up)"},
		})
	s.QueryList().MustRegister(source.QueryTemplate{Name: "waiting", Type: source.QueryTypeMetricName, Template: "waiting"})
	refresh := func() map[string]*source.MetricResult {
		t.Helper()
		clk.Step(15 * time.Second)
		rs := mustRefresh(t, s)
		for name, r := range rs {
			if r.Error != nil {
				t.Fatalf("%s: Error %v, want none: no pod failed", name, r.Error)
			}
		}
		return rs
	}
	// warned checks that the warnings of the results of queries are about exactly the
	// pods want, each with its reason, and that the rest have none.
	warned := func(when string, rs map[string]*source.MetricResult, queries []string, want ...string) {
		t.Helper()
		for name, r := range rs {
			if !slices.Contains(queries, name) {
				if len(r.Warnings) != 0 {
					t.Errorf("%s: %s: warnings %q, want none", when, name, r.Warnings)
				}
				continue
			}
			w := strings.Join(r.Warnings, "\n")
			if len(want) == 0 {
				if w != "" {
					t.Errorf("%s: %s: warnings %q, want none", when, name, r.Warnings)
				}
				continue
			}
			count := fmt.Sprintf(": %d pods ", len(want))
			if len(want) == 1 {
				count = ": 1 pod "
			}
			if len(r.Warnings) != 1 || !strings.Contains(w, "service "+ns+"/vllm") || !strings.Contains(w, count) {
				t.Errorf("%s: %s: warnings %q, want one naming service %s/vllm and%s", when, name, r.Warnings, ns, strings.TrimSuffix(count[1:], " "))
			}
			for _, p := range want {
				if !strings.Contains(w, "pod "+p) {
					t.Errorf("%s: %s: warnings %q, want %q named", when, name, r.Warnings, "pod "+p)
				}
			}
			for _, p := range names {
				if !slices.ContainsFunc(want, func(s string) bool { return strings.HasPrefix(s, p+":") }) && strings.Contains(w, "pod "+p+":") {
					t.Errorf("%s: %s: warnings %q name pod %s, want only %q", when, name, r.Warnings, p, want)
				}
			}
		}
	}
	sum := func(rs map[string]*source.MetricResult) float64 {
		t.Helper()
		if len(rs["sum"].Values) != 1 {
			t.Fatalf("sum: %v, want one value", rs["sum"].Values)
		}
		return rs["sum"].Values[0].Value
	}
	withData := []string{"sum", "waiting", AllMetricsQuery}

	rs := refresh()
	if got := sum(rs); got != 22 {
		t.Fatalf("healthy: sum %v, want 22", got)
	}
	warned("healthy", rs, withData)

	// b not Ready (its readiness probe under load), e evicted (Failed, Ready kept), c
	// terminating and d deleted (a scale-down), starting created not Ready.
	setReady(t, ns, "b", false)
	updatePod(t, ns, "e", true, func(p *corev1.Pod) { p.Status.Phase = corev1.PodFailed })
	updatePod(t, ns, "c", false, func(p *corev1.Pod) { p.Finalizers = append(p.Finalizers, "podscrape.test/terminating") })
	setReady(t, ns, "c", false)
	for _, n := range []string{"c", "d"} {
		if err := cp.Client.Delete(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: n}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cp.CreatePod(ctx, localcluster.PodSpec{Namespace: ns, Name: "starting", Labels: sel, IP: ips["starting"]}); err != nil {
		t.Fatal(err)
	}
	rs = refresh()
	if got := sum(rs); got != 1 {
		t.Fatalf("b not Ready: sum %v, want a's 1", got)
	}
	warned("b not Ready, e evicted", rs, withData, "b: not Ready", "e: finished (Failed)")
	rs = refresh()
	warned("a refresh later", rs, withData, "b: not Ready", "e: finished (Failed)")

	// Ready again: scraped, nothing to warn of. Not Ready again: warned again.
	setReady(t, ns, "b", true)
	rs = refresh()
	if got := sum(rs); got != 10 {
		t.Fatalf("b Ready again: sum %v, want 10", got)
	}
	warned("b Ready again", rs, withData, "e: finished (Failed)")
	setReady(t, ns, "b", false)
	rs = refresh()
	warned("b not Ready again", rs, withData, "b: not Ready", "e: finished (Failed)")

	// b deleted and created again under its name, starting (a StatefulSet's pod
	// replaced): another pod, which never answered.
	if err := cp.Client.Delete(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "b"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := cp.CreatePod(ctx, localcluster.PodSpec{Namespace: ns, Name: "b", Labels: sel, IP: ips["b"]}); err != nil {
		t.Fatal(err)
	}
	rs = refresh()
	warned("b replaced, starting", rs, withData, "e: finished (Failed)")

	// Past the retention, the history holds none of their series: no warning.
	for range 13 * 4 {
		rs = refresh()
	}
	warned("past the retention", rs, withData)
}

// The warning of pods no longer scraped names the first 10, then how many more, as serve's
// does: a Service of 2,000 pods half of which turned not Ready gives one line, not 1,000.
// One pod is one pod, not "1 pods".
func TestUnreadyWarningNamesTenPods(t *testing.T) {
	s := &PodScrapingSource{config: PodScrapingSourceConfig{ServiceNamespace: "llm-d", ServiceName: "vllm"}}
	var pods []unreadyPod
	for i := range 12 {
		pods = append(pods, unreadyPod{name: fmt.Sprintf("vllm-%02d", i), why: "not Ready"})
	}
	got := s.unreadyWarning(unreadyHolding, pods)
	want := "service llm-d/vllm: 12 pods holding series the query reads are no longer scraped, the answer leaves them out: " +
		"pod vllm-00: not Ready; pod vllm-01: not Ready; pod vllm-02: not Ready; pod vllm-03: not Ready; pod vllm-04: not Ready; " +
		"pod vllm-05: not Ready; pod vllm-06: not Ready; pod vllm-07: not Ready; pod vllm-08: not Ready; pod vllm-09: not Ready; and 2 more pods"
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	got = s.unreadyWarning(unreadyHolding, pods[:11])
	if want := "; and 1 more pod"; !strings.HasSuffix(got, want) {
		t.Errorf("11 pods: got %q, want it to end in %q", got, want)
	}
	got = s.unreadyWarning(unreadyAnswered, pods[:1])
	if want := "service llm-d/vllm: 1 pod that answered earlier scrapes is no longer scraped, the answer leaves it out: pod vllm-00: not Ready"; got != want {
		t.Errorf("1 pod:\n got %q\nwant %q", got, want)
	}
	if got := s.unreadyWarning(unreadyHolding, nil); got != "" {
		t.Errorf("no pods: got %q, want none", got)
	}
}

// A selector of only the synthetic series reads the pods scraped, which a pod turned not
// Ready is not: sum(up) does not warn of it. Neither does the same selector written as a
// regular expression of synthetic names ({__name__=~"up"}, or of two of them), which
// warned that the pod's series were left out as if it read the pod's data; a regular
// expression that also names a metric the pod exposes still warns.
func TestRegexOfSyntheticNamesWarnsAsTheirEquality(t *testing.T) {
	ctx := context.Background()
	ns := fmt.Sprintf("unready-synthetic-%d", runs.Add(1))
	if err := cp.CreateNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cp.ReleaseTerminating(context.Background(), ns) })
	block := localcluster.NewAddressBlock()
	ips := map[string]string{"a": block.Next(), "b": block.Next()}
	port, sel := servePods(t, ctx, ns, "vllm", []string{ips["a"], ips["b"]}, func(string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain; version=0.0.4")
			fmt.Fprint(w, "# TYPE waiting gauge\nwaiting 1\n")
		})
	})
	for _, n := range []string{"a", "b"} {
		if _, err := cp.CreatePod(ctx, localcluster.PodSpec{Namespace: ns, Name: n, Labels: sel, IP: ips[n], Ready: true}); err != nil {
			t.Fatal(err)
		}
	}
	queries := []source.QueryTemplate{
		{Name: "up", Template: "sum(up)"},
		{Name: "up regex", Template: `sum({__name__=~"up"})`},
		{Name: "up or samples", Template: `sum({__name__=~"up|scrape_samples_scraped"})`},
		{Name: "names then up", Template: `sum({__name__=~"up|scrape_duration_seconds", __name__!="x"})`},
		{Name: "waiting or up", Template: `sum({__name__=~"waiting|up"})`},
	}
	s, clk := fakeClockSource(t, PodScrapingSourceConfig{ServiceName: "vllm", ServiceNamespace: ns, MetricsPort: port}, t0, queries)
	clk.Step(15 * time.Second)
	mustRefresh(t, s)
	setReady(t, ns, "b", false)
	clk.Step(15 * time.Second)
	rs := mustRefresh(t, s)
	for _, q := range queries {
		r := rs[q.Name]
		if r.Error != nil {
			t.Errorf("%s: Error %v, want none", q.Template, r.Error)
			continue
		}
		if len(r.Values) != 1 {
			t.Errorf("%s: values %v, want one", q.Template, r.Values)
		}
		var warned []string
		for _, w := range r.Warnings {
			if strings.Contains(w, unreadyHolding) {
				warned = append(warned, w)
			}
		}
		if q.Name == "waiting or up" {
			if len(warned) != 1 || !strings.Contains(warned[0], "pod b: not Ready") {
				t.Errorf("%s: warnings %q, want one naming pod b: it reads b's waiting", q.Template, r.Warnings)
			}
			continue
		}
		if len(warned) != 0 {
			t.Errorf("%s: warnings %q, want none, as for sum(up): it reads only the synthetic series", q.Template, warned)
		}
	}
}
