package e2e

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/podscrape/podscrape/internal/localcluster"
	"github.com/podscrape/podscrape/source"
	"github.com/podscrape/podscrape/source/pod"
)

func TestDiscoveryScrapesOnlyReadyPodsNotTerminating(t *testing.T) {
	t.Parallel()
	body := serve([]byte("m 1\n"))
	f := startService(t,
		podDef{name: "ready-a", handler: body},
		podDef{name: "ready-b", handler: body},
		podDef{name: "not-ready", handler: body, notReady: true},
		podDef{name: "terminating", handler: body, terminating: true},
	)
	ctx := context.Background()
	// A pod without an IP yet, one with other labels, and one selected but in another
	// namespace: none is scraped.
	noIP := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: "no-ip", Labels: map[string]string{"app": f.svc}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "x"}}},
	}
	if err := cp.Client.Create(ctx, noIP); err != nil {
		t.Fatal(err)
	}
	block := localcluster.NewAddressBlock()
	if _, err := cp.CreatePod(ctx, localcluster.PodSpec{Namespace: f.ns, Name: "other-app", Labels: map[string]string{"app": "other"}, IP: block.Next(), Ready: true}); err != nil {
		t.Fatal(err)
	}
	otherNS := newNamespace(t)
	if _, err := cp.CreatePod(ctx, localcluster.PodSpec{Namespace: otherNS, Name: "elsewhere", Labels: map[string]string{"app": f.svc}, IP: block.Next(), Ready: true}); err != nil {
		t.Fatal(err)
	}

	r := mustRefresh(t, newSource(t, f.config()))
	got := slices.Sorted(maps.Keys(upByPod(r)))
	if want := []string{"ready-a", "ready-b"}; !slices.Equal(got, want) {
		t.Fatalf("scraped pods: got %v, want %v", got, want)
	}
	if r.Error != nil {
		t.Fatalf("Error: got %v, want nil", r.Error)
	}
}

func TestDiscoveryPicksUpChangesBetweenRefreshes(t *testing.T) {
	t.Parallel()
	body := serve([]byte("m 1\n"))
	f := startService(t, podDef{name: "a", handler: body}, podDef{name: "b", handler: body})
	s := newSource(t, f.config())
	if got := len(upByPod(mustRefresh(t, s))); got != 2 {
		t.Fatalf("first refresh: got %d pods, want 2", got)
	}
	ctx := context.Background()
	var b corev1.Pod
	if err := cp.Client.Get(ctx, keyOf(f.ns, "b"), &b); err != nil {
		t.Fatal(err)
	}
	if err := cp.SetPodStatus(ctx, &b, b.Status.PodIP, false); err != nil {
		t.Fatal(err)
	}
	got := slices.Sorted(maps.Keys(upByPod(mustRefresh(t, s))))
	if want := []string{"a"}; !slices.Equal(got, want) {
		t.Fatalf("after b turned unready: got %v, want %v", got, want)
	}
}

func TestDiscoveryIPv6PodIsBracketed(t *testing.T) {
	t.Parallel()
	if ln, err := net.Listen("tcp", "[::1]:0"); err != nil {
		t.Skipf("this machine has no IPv6 loopback: %v", err)
	} else {
		_ = ln.Close()
	}
	rec := &recorder{body: []byte("m 1\n")}
	f := startService(t, podDef{name: "v6", ip: "::1", handler: rec})
	s := newSource(t, f.config())
	// A PromQL series' instance is the pod's address as Prometheus' pod discovery
	// gives it: <IP>:<port>, the IPv6 address bracketed.
	if err := s.QueryList().Register(source.QueryTemplate{Name: "by_instance", Type: source.QueryTypePromQL, Template: "max by (instance) (m)"}); err != nil {
		t.Fatal(err)
	}
	results, err := refresh(t, s, pod.AllMetricsQuery, "by_instance")
	if err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	r := results[pod.AllMetricsQuery]
	if up := upByPod(r)["v6"]; up != 1 {
		t.Fatalf("up of the IPv6 pod: got %v, want 1 (error: %v)", up, r.Error)
	}
	if got := rec.seen()[0].Host; !strings.HasPrefix(got, "[::1]:") {
		t.Fatalf("Host: got %q, want [::1]:port", got)
	}
	want := fmt.Sprintf("[::1]:%d", f.port)
	if vs := results["by_instance"].Values; len(vs) != 1 || vs[0].Labels["instance"] != want {
		t.Fatalf("by_instance: got %v (error %v), want one value with instance %s", vs, results["by_instance"].Error, want)
	}
}

func TestDiscoveryNoReadyPodsIsEmptyNotError(t *testing.T) {
	t.Parallel()
	f := startService(t, podDef{name: "down", handler: serve([]byte("m 1\n")), notReady: true})
	s := newSource(t, f.config())
	r := mustRefresh(t, s)
	if len(r.Values) != 0 || r.Error != nil {
		t.Fatalf("got %d values and error %v, want none", len(r.Values), r.Error)
	}
	// An answer (no pods, no load), cached as any other (docs/library.md, Failures).
	if c := s.Get(pod.AllMetricsQuery, nil); c == nil || len(c.Result.Values) != 0 || c.Result.Error != nil {
		t.Fatalf("Get after the refresh: got %v, want the empty result cached", c)
	}
}

func TestDiscoveryServiceWithoutSelectorIsEmptyButNotToScrapeSeries(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	if err := cp.CreateService(context.Background(), ns, "manual", nil, 9090); err != nil {
		t.Fatal(err)
	}
	s := newSource(t, pod.PodScrapingSourceConfig{ServiceName: "manual", ServiceNamespace: ns, MetricsPort: 9090})
	r := mustRefresh(t, s)
	if len(r.Values) != 0 || r.Error != nil {
		t.Fatalf("got %d values and error %v, want none", len(r.Values), r.Error)
	}
	// ScrapeSeries (serve) refuses it: answered empty, a KEDA trigger on it would read
	// 0 from a Service that can have no target, not from one scaled to zero.
	pods, err := s.ScrapeSeries(context.Background())
	if err == nil || !strings.Contains(err.Error(), ns+"/manual") || !strings.Contains(err.Error(), "no selector") {
		t.Fatalf("ScrapeSeries: got %d pods and error %v, want an error naming %s/manual and its missing selector", len(pods), err, ns)
	}
}

func TestDiscoveryMissingServiceNamesIt(t *testing.T) {
	t.Parallel()
	ns := newNamespace(t)
	s := newSource(t, pod.PodScrapingSourceConfig{ServiceName: "absent", ServiceNamespace: ns, MetricsPort: 9090})
	results, err := refresh(t, s)
	if err == nil || !strings.Contains(err.Error(), ns+"/absent") {
		t.Fatalf("got error %v, want one naming %s/absent", err, ns)
	}
	if results != nil {
		t.Fatalf("got results %v, want nil", results)
	}
}

// TestDiscoverySkipsFinishedPods: a pod that has finished (phase Failed or Succeeded) is
// out of its Service's endpoints whatever its Ready condition says, as the EndpointSlice
// controller has it. An evicted pod is Failed and may keep Ready=True (kubernetes#124648),
// and such pods linger until garbage-collected while their IP goes to a new pod: scraped,
// the new pod's samples would be counted twice, under two pod names. A Service whose only
// pods have finished (scaled to zero, evicted pods left) selects no pod: ScrapeSeries
// answers none, not ErrNoReadyPods.
func TestDiscoverySkipsFinishedPods(t *testing.T) {
	t.Parallel()
	f := startService(t, podDef{name: "new", handler: serve([]byte("m 1\n"))})
	ctx := context.Background()
	block := localcluster.NewAddressBlock()
	for _, p := range []struct {
		name, ip string
		phase    corev1.PodPhase
	}{
		{"evicted", f.servers["new"].IP, corev1.PodFailed}, // its IP now the new pod's
		{"completed", block.Next(), corev1.PodSucceeded},
	} {
		created, err := cp.CreatePod(ctx, localcluster.PodSpec{Namespace: f.ns, Name: p.name, Labels: map[string]string{"app": f.svc}, IP: p.ip, Ready: true})
		if err != nil {
			t.Fatal(err)
		}
		created.Status.Phase = p.phase // Ready stays True
		if err := cp.Client.Status().Update(ctx, created); err != nil {
			t.Fatal(err)
		}
	}
	s := newSource(t, f.config())
	r := mustRefresh(t, s)
	got := slices.Sorted(maps.Keys(upByPod(r)))
	if want := []string{"new"}; !slices.Equal(got, want) {
		t.Fatalf("scraped pods: got %v, want %v", got, want)
	}

	var gone corev1.Pod
	if err := cp.Client.Get(ctx, keyOf(f.ns, "new"), &gone); err != nil {
		t.Fatal(err)
	}
	if err := cp.Client.Delete(ctx, &gone); err != nil {
		t.Fatal(err)
	}
	pods, err := s.ScrapeSeries(ctx)
	if err != nil || len(pods) != 0 {
		var names []string
		for _, p := range pods {
			names = append(names, p.Pod)
		}
		t.Fatalf("ScrapeSeries with only finished pods left: got pods %v and error %v, want none and no error (scaled to zero)", names, err)
	}
}

// TestDiscoveryExternalNameServiceIsAnError: an ExternalName Service has no endpoints
// whatever selector it keeps (the EndpointSlice controller skips it, kubernetes#105986:
// a Service changed to ExternalName keeps its selector). Its pods are not scraped, and
// the refresh fails naming the Service and its type rather than answering an empty
// result that reads as a Service scaled to zero.
func TestDiscoveryExternalNameServiceIsAnError(t *testing.T) {
	t.Parallel()
	rec := &recorder{body: []byte("m 1\n")}
	f := startService(t, podDef{name: "a", handler: rec})
	ext := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: "external"},
		Spec: corev1.ServiceSpec{
			Type:         corev1.ServiceTypeExternalName,
			ExternalName: "metrics.example.com",
			Selector:     map[string]string{"app": f.svc}, // the pods of f's Service
		},
	}
	if err := cp.Client.Create(context.Background(), ext); err != nil {
		t.Fatal(err)
	}
	cfg := f.config()
	cfg.ServiceName = ext.Name
	s := newSource(t, cfg)
	results, err := refresh(t, s)
	if err == nil || !strings.Contains(err.Error(), f.ns+"/external") || !strings.Contains(err.Error(), "ExternalName") {
		t.Fatalf("Refresh: got results %v and error %v, want an error naming %s/external and ExternalName", results, err, f.ns)
	}
	if _, err := s.ScrapeSeries(context.Background()); err == nil || !strings.Contains(err.Error(), "ExternalName") {
		t.Fatalf("ScrapeSeries: got error %v, want one saying ExternalName", err)
	}
	if n := len(rec.seen()); n != 0 {
		t.Fatalf("pod requests: got %d, want none", n)
	}
}

// TestDiscoveryAddressIsOfTheServicesIPFamily: a dual-stack pod is reached at its IP of
// the Service's primary family (spec.ipFamilies[0]), as the endpoints controller gives
// the Service's endpoints, not at its first IP: in a cluster whose pods get IPv4 first, a
// single-stack IPv6 Service's pods may listen on IPv6 alone (and in an IPv6-first cluster,
// an IPv4 Service's on 0.0.0.0, as vLLM's default host does), and were scraped where
// nothing listens. A pod with no IP of that family is still scraped at its first IP.
func TestDiscoveryAddressIsOfTheServicesIPFamily(t *testing.T) {
	t.Parallel()
	if ln, err := net.Listen("tcp", "[::1]:0"); err != nil {
		t.Skipf("this machine has no IPv6 loopback: %v", err)
	} else {
		_ = ln.Close()
	}
	ns := newNamespace(t)
	ctx := context.Background()
	v4 := localcluster.NewAddressBlock().Next()
	recs := map[string]*recorder{v4: {body: []byte("m 1\n")}, "::1": {body: []byte("m 1\n")}}
	servers, err := localcluster.ServeAll([]string{v4, "::1"}, func(ip string) http.Handler { return recs[ip] })
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range servers {
		t.Cleanup(func() { _ = s.Close() })
	}
	port := int32(servers[0].Port)
	for _, c := range []struct {
		name   string
		family corev1.IPFamily // the Service's; "": none asked, the cluster's default (IPv4)
		podIPs []string
		want   string // the address scraped
	}{
		{"v6-service", corev1.IPv6Protocol, []string{v4, "::1"}, "::1"},
		{"v4-service", corev1.IPv4Protocol, []string{"::1", v4}, v4},
		{"default-service", "", []string{"::1", v4}, v4},
		{"v4-service-v6-pod", corev1.IPv4Protocol, []string{"::1"}, "::1"}, // no IPv4: its first IP
	} {
		svc := &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: c.name},
			Spec: corev1.ServiceSpec{
				Selector: map[string]string{"app": c.name},
				Ports:    []corev1.ServicePort{{Name: "metrics", Port: port}},
			},
		}
		if c.family != "" {
			svc.Spec.IPFamilies = []corev1.IPFamily{c.family}
		}
		if err := cp.Client.Create(ctx, svc); err != nil {
			t.Fatal(err)
		}
		p, err := cp.CreatePod(ctx, localcluster.PodSpec{Namespace: ns, Name: c.name + "-pod", Labels: svc.Spec.Selector, IP: c.podIPs[0], Ready: true})
		if err != nil {
			t.Fatal(err)
		}
		p.Status.PodIPs = nil
		for _, ip := range c.podIPs {
			p.Status.PodIPs = append(p.Status.PodIPs, corev1.PodIP{IP: ip})
		}
		if err := cp.Client.Status().Update(ctx, p); err != nil {
			t.Fatal(err)
		}
		before := map[string]int{v4: len(recs[v4].seen()), "::1": len(recs["::1"].seen())}
		s := newSource(t, pod.PodScrapingSourceConfig{ServiceName: c.name, ServiceNamespace: ns, MetricsPort: port})
		pods, err := s.ScrapeSeries(ctx)
		if err != nil {
			t.Fatalf("%s: ScrapeSeries: %v", c.name, err)
		}
		for ip, rec := range recs {
			got := len(rec.seen()) - before[ip]
			want := 0
			if ip == c.want {
				want = 1
			}
			if got != want {
				t.Errorf("%s (pod IPs %v): %d scrapes at %s, want %d (the pod scraped at %s)", c.name, c.podIPs, got, ip, want, c.want)
			}
		}
		wantInstance := net.JoinHostPort(c.want, fmt.Sprint(port))
		if len(pods) != 1 || !pods[0].Up || pods[0].Target.Get("instance") != wantInstance {
			var got []string
			for _, p := range pods {
				got = append(got, fmt.Sprintf("%s up=%v %s", p.Pod, p.Up, p.Target))
			}
			t.Errorf("%s: scraped %v, want one pod up with instance %s", c.name, got, wantInstance)
		}
	}
}

// TestDiscoveryReadsTheReadyConditionOnly holds the rules docs/library.md writes where
// podscrape and the EndpointSlice controller differ or could: a Service with
// publishNotReadyAddresses (its endpoints list not-Ready pods as ready) still has only
// its Ready pods scraped, and with none Ready, ScrapeSeries says ErrNoReadyPods; a pod
// whose readiness gate holds its Ready condition False is not scraped; a pod of phase
// Unknown still Ready is. Every key of a selector of several must match, with its value
// (an empty value too). The selector and the Service are read at each refresh: a
// selector changed, or the Service deleted and created again, is followed.
func TestDiscoveryReadsTheReadyConditionOnly(t *testing.T) {
	t.Parallel()
	body := serve([]byte("m 1\n"))
	f := startService(t,
		podDef{name: "ready", handler: body},
		podDef{name: "not-ready", handler: body, notReady: true},
		podDef{name: "gated", handler: body},
		podDef{name: "unknown-phase", handler: body},
		podDef{name: "lacks-a-key", handler: body},
		podDef{name: "other-value", handler: body},
	)
	ctx := context.Background()
	sel := map[string]string{"app": f.svc, "llm-d.ai/model": "qwen3", "llm-d.ai/variant": "", "tier": "serve"}
	get := func(name string) *corev1.Pod {
		var p corev1.Pod
		if err := cp.Client.Get(ctx, keyOf(f.ns, name), &p); err != nil {
			t.Fatal(err)
		}
		return &p
	}
	for name, labels := range map[string]map[string]string{
		"ready":         sel,
		"not-ready":     sel,
		"gated":         sel,
		"unknown-phase": sel,
		"lacks-a-key":   {"app": f.svc, "llm-d.ai/model": "qwen3", "tier": "serve"},
		"other-value":   {"app": f.svc, "llm-d.ai/model": "llama", "llm-d.ai/variant": "", "tier": "serve"},
	} {
		p := get(name)
		p.Labels = maps.Clone(labels)
		p.Labels["extra"] = "x" // a pod's other labels do not matter
		if err := cp.Client.Update(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	// The kubelet holds Ready False while a readiness gate's condition is not True,
	// its containers ready.
	gated := get("gated")
	for i, c := range gated.Status.Conditions {
		if c.Type == corev1.PodReady {
			gated.Status.Conditions[i].Status = corev1.ConditionFalse
		}
	}
	gated.Status.Conditions = append(gated.Status.Conditions, corev1.PodCondition{Type: "example.com/load-balancer", Status: corev1.ConditionFalse})
	if err := cp.Client.Status().Update(ctx, gated); err != nil {
		t.Fatal(err)
	}
	unknown := get("unknown-phase")
	unknown.Status.Phase = corev1.PodUnknown
	if err := cp.Client.Status().Update(ctx, unknown); err != nil {
		t.Fatal(err)
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: "published"},
		Spec: corev1.ServiceSpec{
			ClusterIP: corev1.ClusterIPNone, PublishNotReadyAddresses: true, Selector: sel,
			Ports: []corev1.ServicePort{{Name: "metrics", Port: 80, TargetPort: intstr.FromString("metrics")}},
		},
	}
	if err := cp.Client.Create(ctx, svc); err != nil {
		t.Fatal(err)
	}
	cfg := f.config()
	cfg.ServiceName = svc.Name
	s := newSource(t, cfg)
	scraped := func(what string, want ...string) {
		t.Helper()
		got := slices.Sorted(maps.Keys(upByPod(mustRefresh(t, s))))
		if !slices.Equal(got, want) {
			t.Errorf("%s: scraped %v, want %v", what, got, want)
		}
	}
	scraped("publishNotReadyAddresses, four keys", "ready", "unknown-phase")

	// The selector changed to the not-Ready pod's own label: it alone is selected.
	p := get("not-ready")
	p.Labels["only"] = "me"
	if err := cp.Client.Update(ctx, p); err != nil {
		t.Fatal(err)
	}
	if err := cp.Client.Get(ctx, keyOf(f.ns, svc.Name), svc); err != nil {
		t.Fatal(err)
	}
	svc.Spec.Selector = map[string]string{"only": "me"}
	if err := cp.Client.Update(ctx, svc); err != nil {
		t.Fatal(err)
	}
	scraped("the selector changed to the not-Ready pod")
	if pods, err := s.ScrapeSeries(ctx); !errors.Is(err, pod.ErrNoReadyPods) {
		t.Errorf("ScrapeSeries, only a not-Ready pod selected (publishNotReadyAddresses): got %d pods and error %v, want ErrNoReadyPods", len(pods), err)
	}

	// Deleted, then created again with the first selector.
	if err := cp.Client.Delete(ctx, svc); err != nil {
		t.Fatal(err)
	}
	if _, err := refresh(t, s); err == nil || !strings.Contains(err.Error(), f.ns+"/published") {
		t.Errorf("Refresh with the Service deleted: error %v, want one naming %s/published", err, f.ns)
	}
	svc = &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: "published"},
		Spec:       corev1.ServiceSpec{Selector: sel, Ports: []corev1.ServicePort{{Name: "metrics", Port: 80}}},
	}
	if err := cp.Client.Create(ctx, svc); err != nil {
		t.Fatal(err)
	}
	scraped("the Service created again", "ready", "unknown-phase")
}
