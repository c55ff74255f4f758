package serve_test

import (
	"context"
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/podscrape/podscrape/podscrapetest"
	"github.com/podscrape/podscrape/serve"
	"github.com/podscrape/podscrape/source/pod"
)

// TestCacheHoldsPodsWithoutTheirSpec: StartCache's informers hold a pod without what
// serve never reads (its containers' env, its annotations, its managedFields), read back
// through the Cache, and keep what discovery reads: a Service served from the Cache
// still answers its pods' samples. Before, each pod of the namespaces was held whole for
// as long as serve ran: a 200 KiB env or annotation, as much of serve's memory.
func TestCacheHoldsPodsWithoutTheirSpec(t *testing.T) {
	svc := newService(t, "stripped", 1, "queue 7\n")
	big := strings.Repeat("x", 200<<10)
	heavy := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: svc.Namespace, Name: "heavy", Labels: map[string]string{"app": "other"},
			Annotations: map[string]string{"kubectl.kubernetes.io/last-applied-configuration": big}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "vllm",
			Env: []corev1.EnvVar{{Name: "BIG", Value: big}}}}},
	}
	if err := env.Client.Create(t.Context(), heavy); err != nil {
		t.Fatal(err)
	}
	c, err := serve.StartCache(t.Context(), env.Config, []serve.ServiceConfig{serviceConfig(svc)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()

	var got corev1.Pod
	if err := c.Get(t.Context(), client.ObjectKeyFromObject(heavy), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Spec.Containers) > 0 || len(got.Annotations) > 0 || len(got.ManagedFields) > 0 {
		t.Errorf("cached pod %s: %d containers, %d annotations, %d managedFields entries, want none",
			got.Name, len(got.Spec.Containers), len(got.Annotations), len(got.ManagedFields))
	}
	if got.Labels["app"] != "other" || got.UID == "" || got.ResourceVersion == "" {
		t.Errorf("cached pod %s: labels %v, UID %q, resourceVersion %q: want them kept", got.Name, got.Labels, got.UID, got.ResourceVersion)
	}

	// The Service's pod keeps what discovery reads: it is found Ready, at its IP.
	var pods corev1.PodList
	if err := c.List(t.Context(), &pods, client.InNamespace(svc.Namespace), client.MatchingLabels{"app": svc.Name}); err != nil {
		t.Fatal(err)
	}
	if len(pods.Items) != 1 || pods.Items[0].Status.PodIP == "" || len(pods.Items[0].Status.PodIPs) == 0 ||
		pods.Items[0].Status.Phase != corev1.PodRunning || len(pods.Items[0].Status.Conditions) == 0 {
		t.Fatalf("cached pods of %s: %+v, want one Running with its IPs and conditions", svc.Name, pods.Items)
	}
	var cachedSvc corev1.Service
	if err := c.Get(t.Context(), client.ObjectKey{Namespace: svc.Namespace, Name: svc.Name}, &cachedSvc); err != nil {
		t.Fatal(err)
	}
	// Discovery reads the Service's selector, type and IP families (a dual-stack pod is
	// scraped at its IP of the Service's primary family).
	if len(cachedSvc.ManagedFields) > 0 || len(cachedSvc.Spec.Selector) == 0 || cachedSvc.Spec.Type == "" || len(cachedSvc.Spec.IPFamilies) == 0 {
		t.Errorf("cached service: %d managedFields entries, selector %v, type %q, ipFamilies %v: want none, and the rest kept",
			len(cachedSvc.ManagedFields), cachedSvc.Spec.Selector, cachedSvc.Spec.Type, cachedSvc.Spec.IPFamilies)
	}

	srv, err := serve.New(t.Context(), c, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}, Interval: 4 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Run(ctx) }()
	hs := httptest.NewServer(srv.Handler())
	defer func() {
		hs.Close()
		cancel()
		<-done
		_ = srv.Close()
	}()
	deadline := time.Now().Add(30 * time.Second)
	for !srv.Ready() {
		if time.Now().After(deadline) {
			t.Fatal("not ready after 30s")
		}
		time.Sleep(10 * time.Millisecond) // polling readiness
	}
	code, r := query(t, hs.URL, "queue")
	if v := vector(t, r); code != http.StatusOK || len(v) != 1 || v[0].Value[1] != "7" {
		t.Errorf("queue through the cache: %d %+v, want the pod's 7", code, r)
	}
}

// TestCacheKeepsWhenPodsWereCreated: two Ready pods claim one address (a reused IP, the
// old pod's status not updated yet): discovery scrapes it once, as the pod created last.
// Served from StartCache's informers, which dropped the pods' creation times, every pod
// read as created at the same instant: the address was scraped as the pod whose name
// sorts last, here the old one, under the old pod's name and labels. (Found reading the
// cache while building test/e2e's churn soak.)
func TestCacheKeepsWhenPodsWereCreated(t *testing.T) {
	svc := newService(t, "zz", 1, "load 1\n")
	old := svc.Pods()[0]
	var oldObj corev1.Pod
	if err := env.Client.Get(t.Context(), client.ObjectKey{Namespace: svc.Namespace, Name: old.Name}, &oldObj); err != nil {
		t.Fatal(err)
	}
	// Creation times have seconds: the new pod is created in a later one.
	deadline := time.Now().Add(10 * time.Second)
	for !time.Now().Truncate(time.Second).After(oldObj.CreationTimestamp.Time) {
		if time.Now().After(deadline) {
			t.Fatal("the clock did not pass the old pod's creation second")
		}
		time.Sleep(10 * time.Millisecond) // polling the clock, with a deadline
	}
	// Its name sorts before the old pod's: only its creation time makes it the owner.
	newObj := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: svc.Namespace, Name: "aa-new", Labels: map[string]string{"app": svc.Name}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "vllm"}}},
	}
	if err := env.Client.Create(t.Context(), newObj); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Client.Delete(context.Background(), newObj) })
	newObj.Status = *oldObj.Status.DeepCopy()
	if err := env.Client.Status().Update(t.Context(), newObj); err != nil {
		t.Fatal(err)
	}

	c, err := serve.StartCache(t.Context(), env.Config, []serve.ServiceConfig{serviceConfig(svc)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	srv, base := runServerWith(t, t.Context(), c, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}, Interval: 4 * time.Minute})
	waitReady(t, srv)
	code, r := query(t, base, "load")
	if v := vector(t, r); code != http.StatusOK || len(v) != 1 || v[0].Metric["pod"] != "aa-new" {
		t.Errorf("pods %s and aa-new claiming %s through the cache: got %d %s, want load once, as aa-new, created last", old.Name, old.IP, code, r.Data)
	}
}

// TestCacheKeepsThePodsNamedPorts: a MetricsPort that is the Service's port, forwarded
// to a port of the pods by name, is refused by every pod, whose error says which port
// the Service forwards to on it (source/pod resolves the name on the pod's containers).
// StartCache's informers held pods without their containers, so serve could not say it.
func TestCacheKeepsThePodsNamedPorts(t *testing.T) {
	svc := newService(t, "named", 1, "load 1\n")
	p := svc.Pods()[0]
	ln, err := net.Listen("tcp", net.JoinHostPort(p.IP, "0"))
	if err != nil {
		t.Fatal(err)
	}
	refused := int32(ln.Addr().(*net.TCPAddr).Port) // nothing listens there once closed
	ln.Close()
	// The pod is recreated with its metrics port declared on its second container.
	obj := replacePod(t, svc, p.Name, map[string]corev1.PodSpec{p.Name: {Containers: []corev1.Container{
		{Name: "proxy", Image: "envoy"},
		{Name: "vllm", Image: "vllm", Ports: []corev1.ContainerPort{{Name: "metrics", ContainerPort: svc.Port}}},
	}}})[0]
	forwarding := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: svc.Namespace, Name: "forwarding"},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": svc.Name}, Ports: []corev1.ServicePort{
			{Name: "http", Port: refused, TargetPort: intstr.FromString("metrics")},
		}},
	}
	if err := env.Client.Create(t.Context(), forwarding); err != nil {
		t.Fatal(err)
	}
	cfg := serve.ServiceConfig{Source: pod.PodScrapingSourceConfig{ServiceName: forwarding.Name, ServiceNamespace: svc.Namespace, MetricsPort: refused}}
	c, err := serve.StartCache(t.Context(), env.Config, []serve.ServiceConfig{cfg})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	var cached corev1.Pod
	if err := c.Get(t.Context(), client.ObjectKeyFromObject(&obj), &cached); err != nil {
		t.Fatal(err)
	}
	for _, ctr := range cached.Spec.Containers {
		if ctr.Image != "" || ctr.Name != "" {
			t.Errorf("cached pod's container %+v: want its ports alone", ctr)
		}
	}
	_, base := runServerWith(t, t.Context(), c, serve.Config{Services: []serve.ServiceConfig{cfg}, MaxAge: time.Nanosecond, Interval: time.Hour})
	want := fmt.Sprintf(`port %d is service %s/forwarding's port "http", which forwards to the pods' port named "metrics", %d on this pod`, refused, svc.Namespace, svc.Port)
	code, r := query(t, base, "load")
	if code != http.StatusServiceUnavailable || !strings.Contains(r.Error, want) {
		t.Errorf("load: %d %q, want 503 saying %q", code, r.Error, want)
	}
}

// TestCacheKeepsThePodsHostNetwork: two Ready hostNetwork pods of one node share its IP;
// the one declaring MetricsPort answers there, the other is a pod of its own that fails
// (source/pod TestHostNetworkPodsOfOneNodeAreNotAReusedIP). StartCache's informers held
// pods without spec.hostNetwork, so serve took them for a reused IP: the address was
// scraped as the pod whose name sorts last, the declaring pod's load served under the
// other's name.
func TestCacheKeepsThePodsHostNetwork(t *testing.T) {
	svc := newService(t, "hostnet", 1, "load 5\n")
	p := svc.Pods()[0]
	specs := map[string]corev1.PodSpec{}
	for name, port := range map[string]int32{p.Name: svc.Port, "zz-other": svc.Port + 1} {
		specs[name] = corev1.PodSpec{HostNetwork: true, Containers: []corev1.Container{
			{Name: "vllm", Image: "vllm", Ports: []corev1.ContainerPort{{Name: "metrics", ContainerPort: port, HostPort: port}}},
		}}
	}
	replacePod(t, svc, p.Name, specs)
	cfg := serviceConfig(svc)
	c, err := serve.StartCache(t.Context(), env.Config, []serve.ServiceConfig{cfg})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	_, base := runServerWith(t, t.Context(), c, serve.Config{Services: []serve.ServiceConfig{cfg}, MaxAge: time.Nanosecond, Interval: time.Hour})
	code, r := query(t, base, "load")
	if v := vector(t, r); code != http.StatusOK || len(v) != 1 || v[0].Metric["pod"] != p.Name || v[0].Value[1] != "5" {
		t.Errorf("load: %d %s, want pod %s's 5 alone", code, r.Data, p.Name)
	}
	code, r = query(t, base, `up{pod="zz-other"}`)
	if v := vector(t, r); code != http.StatusOK || len(v) != 1 || v[0].Value[1] != "0" {
		t.Errorf("up of zz-other: %d %s, want 0: its load is not read", code, r.Data)
	}
}

// replacePod deletes svc's pod name and creates, for each name of specs, a pod of that
// spec with its labels and status (Ready, at its IP); it returns them, sorted by name.
func replacePod(t *testing.T, svc *podscrapetest.Service, name string, specs map[string]corev1.PodSpec) []corev1.Pod {
	t.Helper()
	var old corev1.Pod
	if err := env.Client.Get(t.Context(), client.ObjectKey{Namespace: svc.Namespace, Name: name}, &old); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.Delete(t.Context(), &old); err != nil {
		t.Fatal(err)
	}
	var out []corev1.Pod
	for _, n := range slices.Sorted(maps.Keys(specs)) {
		o := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: svc.Namespace, Name: n, Labels: old.Labels}, Spec: specs[n]}
		if err := env.Client.Create(t.Context(), &o); err != nil {
			t.Fatal(err)
		}
		o.Status = old.Status
		if err := env.Client.Status().Update(t.Context(), &o); err != nil {
			t.Fatal(err)
		}
		out = append(out, o)
	}
	return out
}
