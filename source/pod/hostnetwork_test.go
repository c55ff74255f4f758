package pod

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/podscrape/podscrape/internal/localcluster"
)

// TestHostNetworkPodsOfOneNodeAreNotAReusedIP: two Ready hostNetwork pods on one node
// (vLLM replicas sharing a GPU node, each on its own port, which the Service reaches by
// a named targetPort each pod declares) have one IP, the node's. They were taken for a
// reused IP: the address was scraped once, as the pod created last (or whose name sorts
// last), b, whatever listens there: a's load was answered as b's, b's never read, with
// no Error and no warning, a sum over the pods missing one for as long as they ran. The
// pod that declares MetricsPort (a) now keeps the address; b, which one MetricsPort
// cannot reach apart from a, fails (up 0), its error saying why.
func TestHostNetworkPodsOfOneNodeAreNotAReusedIP(t *testing.T) {
	ctx := context.Background()
	ns := fmt.Sprintf("pod-%d", runs.Add(1))
	if err := cp.CreateNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	node := localcluster.NewAddressBlock().Next() // the node's IP, both pods'
	serveLoad := func(load int) int32 {
		srv, err := localcluster.Serve(node, 0, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain; version=0.0.4")
			_, _ = fmt.Fprintf(w, "# TYPE waiting gauge\nwaiting %d\n", load)
		}))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = srv.Close() })
		return int32(srv.Port)
	}
	port := map[string]int32{"a": serveLoad(5), "b": serveLoad(7)}
	sel := map[string]string{"app": "vllm"}
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "vllm"}, Spec: corev1.ServiceSpec{Selector: sel,
		Ports: []corev1.ServicePort{{Name: "metrics", Port: 9000, TargetPort: intstr.FromString("metrics")}}}}
	if err := cp.Client.Create(ctx, svc); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"a", "b"} {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: sel}, Spec: corev1.PodSpec{
			HostNetwork: true,
			Containers: []corev1.Container{{Name: "vllm", Image: "x", Ports: []corev1.ContainerPort{
				{Name: "metrics", ContainerPort: port[name], HostPort: port[name]}}}},
		}}
		if err := cp.Client.Create(ctx, p); err != nil {
			t.Fatal(err)
		}
		if err := cp.SetPodStatus(ctx, p, node, true); err != nil {
			t.Fatal(err)
		}
	}
	s, err := NewPodScrapingSource(ctx, cp.Client, PodScrapingSourceConfig{ServiceName: "vllm", ServiceNamespace: ns, MetricsPort: port["a"]})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)

	r := mustRefresh(t, s)[AllMetricsQuery]
	load, up := map[string]float64{}, map[string]float64{}
	for _, v := range r.Values {
		switch v.Labels["__name__"] {
		case "waiting":
			load[v.Labels["pod"]] += v.Value
		case "up":
			up[v.Labels["pod"]] = v.Value
		}
	}
	if len(load) != 1 || load["a"] != 5 {
		t.Errorf("waiting by pod %v, want a's 5 alone: the answer at %s:%d is a's", load, node, port["a"])
	}
	if up["a"] != 1 || up["b"] != 0 || len(up) != 2 {
		t.Errorf("up by pod %v, want a 1 and b 0: b's load is not read", up)
	}
	want := fmt.Sprintf("pod b shares its node's IP %s with pod a (hostNetwork), which declares port %d and answers there", node, port["a"])
	own := fmt.Sprintf("is %d, not %d as on other pods", port["b"], port["a"])
	if r.Error == nil || !strings.Contains(r.Error.Error(), want) || !strings.Contains(r.Error.Error(), own) {
		t.Errorf("Error %v, want it to say %q and %q", r.Error, want, own)
	}

	// serve's scrape: the same pods, b failed.
	report, err := s.ScrapeSeriesReport(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range report.Pods {
		got = append(got, fmt.Sprintf("%s up=%t", p.Pod, p.Up))
	}
	if g := strings.Join(got, ", "); g != "a up=true, b up=false" || len(report.Unscraped) != 0 {
		t.Errorf("ScrapeSeries: pods %s, unscraped %+v; want a up and b failed, none unscraped", g, report.Unscraped)
	}
}
