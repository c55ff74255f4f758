package pod

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/podscrape/podscrape/internal/localcluster"
)

// A pod deleted and a new pod given its IP (kubelet reuses pod IPs quickly) is another
// pod: a connection kept alive to the old one's address is not the new one's, and never
// answers for it. The address here answers each connection as the pod that held the
// address when the connection was opened; the kept-alive connection goes on answering as
// the old pod, as a stale connection through a node proxy or a mesh would.
func TestReusedIPNeverAnswersForTheNewPod(t *testing.T) {
	ctx := context.Background()
	ns := fmt.Sprintf("pod-%d", runs.Add(1))
	if err := cp.CreateNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	ip := localcluster.NewAddressBlock().Next()
	var holder atomic.Pointer[string] // the pod holding the address for a new connection
	old := "old"
	holder.Store(&old)
	pod := startRawPod(t, ip, 0, func(c net.Conn, br *bufio.Reader) {
		name := *holder.Load()
		for {
			if _, err := http.ReadRequest(br); err != nil {
				return
			}
			body := fmt.Sprintf("served_by{pod_was=%q} 1\n", name)
			if _, err := fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: %d\r\n\r\n%s", len(body), body); err != nil {
				return
			}
		}
	})
	port := pod.ln.Addr().(*net.TCPAddr).Port
	sel := map[string]string{"app": "pod"}
	if err := cp.CreateService(ctx, ns, "pod", sel, int32(port)); err != nil {
		t.Fatal(err)
	}
	oldPod, err := cp.CreatePod(ctx, localcluster.PodSpec{Namespace: ns, Name: old, Labels: sel, IP: ip, Ready: true})
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewPodScrapingSource(ctx, cp.Client, PodScrapingSourceConfig{ServiceName: "pod", ServiceNamespace: ns, MetricsPort: int32(port)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	servedBy := func() map[string]string {
		t.Helper()
		got := map[string]string{}
		for _, v := range mustRefresh(t, s)[AllMetricsQuery].Values {
			if v.Labels["__name__"] == "served_by" {
				got[v.Labels["pod"]] = v.Labels["pod_was"]
			}
		}
		return got
	}
	if got := servedBy(); len(got) != 1 || got[old] != old {
		t.Fatalf("before the IP is reused: got %v, want the old pod's own answer", got)
	}

	if err := cp.Client.Delete(ctx, oldPod, client.GracePeriodSeconds(0)); err != nil {
		t.Fatal(err)
	}
	young := "new"
	holder.Store(&young)
	if _, err := cp.CreatePod(ctx, localcluster.PodSpec{Namespace: ns, Name: young, Labels: sel, IP: ip, Ready: true}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if got := servedBy(); len(got) != 1 || got[young] != young {
			t.Fatalf("after the IP went to another pod: got %v (pod: the pod that answered), want the new pod's own answer", got)
		}
	}
}
