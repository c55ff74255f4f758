package pod

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/podscrape/podscrape/internal/localcluster"
	"github.com/podscrape/podscrape/source"
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

// The other way round: a pod's status not updated yet after its sandbox went (a node
// that restarted), while a new pod was given its IP. Both claim the address, Ready;
// the network hands it to the new pod, whose answer was also stored under the old
// pod's name: one pod's load counted twice. The pod created last keeps the address;
// the other is left out, and the result says why.
func TestReusedIPClaimedByTwoPodsIsScrapedOnce(t *testing.T) {
	ctx := context.Background()
	ns := fmt.Sprintf("pod-%d", runs.Add(1))
	if err := cp.CreateNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	ip := localcluster.NewAddressBlock().Next()
	srv, err := localcluster.Serve(ip, 0, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = fmt.Fprint(w, "load 1\n")
	}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	sel := map[string]string{"app": "pod"}
	if err := cp.CreateService(ctx, ns, "pod", sel, int32(srv.Port)); err != nil {
		t.Fatal(err)
	}
	oldPod, err := cp.CreatePod(ctx, localcluster.PodSpec{Namespace: ns, Name: "old", Labels: sel, IP: ip, Ready: true})
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewPodScrapingSource(ctx, cp.Client, PodScrapingSourceConfig{ServiceName: "pod", ServiceNamespace: ns, MetricsPort: int32(srv.Port)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	loadBy := func(rs map[string]*source.MetricResult) map[string]float64 {
		got := map[string]float64{}
		for _, v := range rs[AllMetricsQuery].Values {
			if v.Labels["__name__"] == "load" {
				got[v.Labels["pod"]] += v.Value
			}
		}
		return got
	}
	if got := loadBy(mustRefresh(t, s)); len(got) != 1 || got["old"] != 1 {
		t.Fatalf("the old pod alone: got %v, want its load", got)
	}
	// Creation times have seconds: the new pod is created in a later one.
	deadline := time.Now().Add(10 * time.Second)
	for !time.Now().Truncate(time.Second).After(oldPod.CreationTimestamp.Time) {
		if time.Now().After(deadline) {
			t.Fatal("the clock did not pass the old pod's creation second")
		}
		time.Sleep(10 * time.Millisecond) // polling the clock, with a deadline
	}
	if _, err := cp.CreatePod(ctx, localcluster.PodSpec{Namespace: ns, Name: "new", Labels: sel, IP: ip, Ready: true}); err != nil {
		t.Fatal(err)
	}
	rs := mustRefresh(t, s)
	if got := loadBy(rs); len(got) != 1 || got["new"] != 1 {
		t.Errorf("both pods claiming %s: got load %v, want the new pod's alone", ip, got)
	}
	warnings := strings.Join(rs[AllMetricsQuery].Warnings, "\n")
	if want := fmt.Sprintf("pod old: its address %s:%d is pod new's, created later (a reused IP)", ip, srv.Port); !strings.Contains(warnings, want) {
		t.Errorf("warnings %q, want them to contain %q", warnings, want)
	}
	report, err := s.ScrapeSeriesReport(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(report.Pods) != 1 || report.Pods[0].Pod != "new" || len(report.Unscraped) != 1 || report.Unscraped[0].Pod != "old" {
		t.Errorf("ScrapeSeries: pods %+v, unscraped %+v; want new scraped, old not", report.Pods, report.Unscraped)
	}
}

// TestClaimsOfOneAddress: of the Ready pods claiming one address, the one created last
// keeps it; of pods created in the same second, which cannot be told apart, the one
// whose name sorts last does (the address is scraped once), unless one created later
// claims it too;
// pods at addresses of their own are all kept, in order. Pods of one node's network
// (hostNetwork) all kept, the one declaring the port, else the one created last, scraped
// at it, the others failing; one of them claiming an address with a pod that is not is
// a reused IP.
func TestClaimsOfOneAddress(t *testing.T) {
	at := func(host string) *url.URL { return &url.URL{Scheme: "http", Host: host, Path: "/metrics"} }
	t0 := time.Unix(1_800_000_000, 0)
	d := discovery{targets: []target{
		{name: "a", addr: at("10.0.0.1:80")},
		{name: "b", addr: at("10.0.0.2:80")},
		{name: "c", addr: at("10.0.0.1:80")},
		{name: "d", addr: at("10.0.0.3:80")},
		{name: "e", addr: at("10.0.0.3:80")},
		{name: "f", addr: at("10.0.0.1:80")},
		{name: "p", addr: at("10.0.0.4:80")},
		{name: "q", addr: at("10.0.0.4:80")},
		{name: "r", addr: at("10.0.0.4:80")},
		// Pods of one node's network: g and h (h declares the port), i and j (neither
		// does); k of it, l not (a reused IP).
		{name: "g", addr: at("10.0.0.5:80"), hostNetwork: true},
		{name: "h", addr: at("10.0.0.5:80"), hostNetwork: true, declares: true},
		{name: "i", addr: at("10.0.0.6:80"), hostNetwork: true},
		{name: "j", addr: at("10.0.0.6:80"), hostNetwork: true},
		{name: "k", addr: at("10.0.0.7:80"), hostNetwork: true},
		{name: "l", addr: at("10.0.0.7:80")},
	}}
	d.claimsOfOneAddress([]time.Time{t0, t0, t0.Add(2 * time.Second), t0, t0, t0.Add(time.Second), t0, t0, t0.Add(time.Second),
		t0.Add(time.Second), t0, t0, t0.Add(time.Second), t0, t0.Add(time.Second)})
	var kept []string
	failing := map[string]string{}
	for _, tg := range d.targets {
		kept = append(kept, tg.name)
		if tg.unreachable != nil {
			failing[tg.name] = tg.unreachable.Error()
		}
	}
	if got, want := strings.Join(kept, ","), "b,c,e,r,g,h,i,j,l"; got != want {
		t.Errorf("kept %s, want %s", got, want)
	}
	wantFailing := map[string]string{
		"g": "pod g shares its node's IP 10.0.0.5 with pod h (hostNetwork), which declares port 80 and answers there: MetricsPort, one port for every pod, cannot reach this pod's metrics",
		"i": "pod i shares its node's IP 10.0.0.6 with pod j (hostNetwork), as which the answer at port 80 is taken (not one pod alone declares that port): MetricsPort, one port for every pod, cannot reach this pod's metrics",
	}
	samePodMessages(t, "error", failing, wantFailing)
	why := map[string]string{}
	for _, u := range d.unscraped {
		why[u.Pod] = u.Why
	}
	want := map[string]string{
		"a": "its address 10.0.0.1:80 is pod c's, created later (a reused IP)",
		"f": "its address 10.0.0.1:80 is pod c's, created later (a reused IP)",
		"d": "its address 10.0.0.3:80 is claimed by pods [d e], created in the same second: it is scraped once, as pod e, which may not be the pod answering (a reused IP)",
		"p": "its address 10.0.0.4:80 is pod r's, created later (a reused IP)",
		"q": "its address 10.0.0.4:80 is pod r's, created later (a reused IP)",
		"k": "its address 10.0.0.7:80 is pod l's, created later (a reused IP)",
	}
	samePodMessages(t, "why", why, want)
}

// samePodMessages fails t unless got holds want's message of each pod, and no other pod.
func samePodMessages(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s of each pod: %v, want %v", what, got, want)
	}
	for pod, w := range want {
		if got[pod] != w {
			t.Errorf("%s: %s %q, want %q", pod, what, got[pod], w)
		}
	}
}
