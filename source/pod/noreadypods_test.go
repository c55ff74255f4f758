package pod

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/podscrape/podscrape/internal/localcluster"
)

// TestNoReadyPodsSaysWhatThePodsAre: ScrapeSeries of a Service whose selected pods are
// none scraped (ErrNoReadyPods: serve's 503) says what they are. A Service scaled to zero
// whose pod is still terminating, Ready while it drains, said "no ready pod among the 1
// pod it selects", which an operator reading kubectl's 1/1 Ready cannot square; a
// rollout's terminating pods and its new ones not Ready yet read as a readiness failure.
// A pod neither Ready nor with an IP is counted not Ready.
func TestNoReadyPodsSaysWhatThePodsAre(t *testing.T) {
	ctx := context.Background()
	ns := fmt.Sprintf("noready-%d", runs.Add(1))
	if err := cp.CreateNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cp.ReleaseTerminating(context.Background(), ns) })
	block := localcluster.NewAddressBlock()
	names := []string{"old-0", "old-1", "new-0", "new-1"}
	var ips []string
	for range names {
		ips = append(ips, block.Next())
	}
	port, sel := servePods(t, ctx, ns, "vllm", ips, func(string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("queue 1\n")) })
	})
	s, err := NewPodScrapingSource(ctx, cp.Client, PodScrapingSourceConfig{ServiceName: "vllm", ServiceNamespace: ns, MetricsPort: port})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i, name := range names[:2] {
		if _, err := cp.CreatePod(ctx, localcluster.PodSpec{Namespace: ns, Name: name, Labels: sel, IP: ips[i], Ready: true, Terminating: true}); err != nil {
			t.Fatal(err)
		}
	}
	check := func(what, want string) {
		t.Helper()
		_, err := s.ScrapeSeries(ctx)
		if !errors.Is(err, ErrNoReadyPods) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: ScrapeSeries error %v, want ErrNoReadyPods saying %q", what, err, want)
		}
	}
	check("scaled to zero, both pods draining", "no ready pod among the 2 pods it selects: 2 terminating")

	if _, err := cp.CreatePod(ctx, localcluster.PodSpec{Namespace: ns, Name: "new-0", Labels: sel, IP: ips[2], Ready: false}); err != nil {
		t.Fatal(err)
	}
	check("a rollout, the new pod starting", "no ready pod among the 3 pods it selects: 2 terminating, 1 not Ready")

	// Ready, without an IP in its status (as the EndpointSlice controller, it is no
	// endpoint): said so, not "not Ready".
	updatePod(t, ns, "new-0", true, func(p *corev1.Pod) {
		p.Status.PodIP, p.Status.PodIPs = "", nil
		for i := range p.Status.Conditions {
			p.Status.Conditions[i].Status = corev1.ConditionTrue
		}
	})
	check("the new pod Ready without an IP", "no ready pod among the 3 pods it selects: 2 terminating, 1 Ready without an IP")

	// Not Ready and without an IP (pending, its sandbox not up yet: a pod starting, the
	// commonest): not Ready, not "Ready without an IP".
	if _, err := cp.CreatePod(ctx, localcluster.PodSpec{Namespace: ns, Name: "new-1", Labels: sel, IP: ips[3], Ready: false}); err != nil {
		t.Fatal(err)
	}
	updatePod(t, ns, "new-1", true, func(p *corev1.Pod) { p.Status.PodIP, p.Status.PodIPs = "", nil })
	check("a second new pod pending, without an IP", "no ready pod among the 4 pods it selects: 2 terminating, 1 not Ready, 1 Ready without an IP")
}
