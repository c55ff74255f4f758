package pod

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/podscrape/podscrape/internal/localcluster"
	"github.com/podscrape/podscrape/source"
)

// TestMetricsPortOfTheServiceSaysWhereItForwards: a MetricsPort that is the Service's
// port, which forwards to another port of the pods (its targetPort, a number or a name
// each pod resolves for itself, on any of its containers), is refused by every pod; each
// pod's error says so, naming the port the Service forwards to on that pod. So does a
// pod refusing the MetricsPort other pods give the targetPort's name, its own being
// another (a rollout that moves the port: one MetricsPort cannot follow both). A refused
// MetricsPort that is no port of the Service, or one the Service forwards as is, gets no
// such words: nothing says where the pods listen; nor does a pod whose port of the
// targetPort's name is MetricsPort (refused for another reason), one that declares no
// port of that name (no endpoint of the Service's port), or one that listens on the
// Service's port and fails there otherwise (its answer is its own). A name is resolved
// on a sidecar (an init container that restarts always), as Kubernetes resolves it, and
// not on an init container that runs once; a UDP port of the Service's number is not the
// one MetricsPort names.
func TestMetricsPortOfTheServiceSaysWhereItForwards(t *testing.T) {
	ctx := context.Background()
	ns := fmt.Sprintf("pod-%d", runs.Add(1))
	if err := cp.CreateNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	block := localcluster.NewAddressBlock()
	ips := map[string]string{"a": block.Next(), "b": block.Next()}
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/fail" {
			http.Error(w, "failing", http.StatusInternalServerError)
			return
		}
		_, _ = w.Write([]byte("m 1\n"))
	})
	listening := map[string]int32{} // each pod's own port, declared as its "metrics"
	for _, name := range []string{"a", "b"} {
		for {
			srv, err := localcluster.Serve(ips[name], 0, ok)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = srv.Close() })
			if port := int32(srv.Port); port != listening["a"] {
				listening[name] = port
				break
			}
		}
	}
	refused := func() int32 { // a port nothing listens on at the pods' addresses
		t.Helper()
		ln, err := net.Listen("tcp", net.JoinHostPort(ips["a"], "0"))
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		return int32(ln.Addr().(*net.TCPAddr).Port)
	}
	svcPort, other := refused(), refused()

	// Pod a declares its metrics port on its second container, and svcPort as "same";
	// pod b declares its own on its only container. Each declares a port "side" on an
	// init container: pod a's a sidecar, pod b's one that runs once.
	sel := map[string]string{"app": "vllm"}
	always := corev1.ContainerRestartPolicyAlways
	side := map[string]int32{"a": other + 4, "b": other + 5}
	for _, name := range []string{"a", "b"} {
		containers := []corev1.Container{{Name: "vllm", Image: "x", Ports: []corev1.ContainerPort{{Name: "metrics", ContainerPort: listening[name]}}}}
		if name == "a" {
			containers = append([]corev1.Container{{Name: "proxy", Image: "x", Ports: []corev1.ContainerPort{
				{Name: "http", ContainerPort: 9999}, {Name: "same", ContainerPort: svcPort}}}}, containers...)
		}
		initc := corev1.Container{Name: "init", Image: "x", Ports: []corev1.ContainerPort{{Name: "side", ContainerPort: side[name]}}}
		if name == "a" {
			initc.RestartPolicy = &always
		}
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: sel}, Spec: corev1.PodSpec{Containers: containers, InitContainers: []corev1.Container{initc}}}
		if err := cp.Client.Create(ctx, p); err != nil {
			t.Fatal(err)
		}
		if err := cp.SetPodStatus(ctx, p, ips[name], true); err != nil {
			t.Fatal(err)
		}
	}
	for name, sp := range map[string]corev1.ServicePort{
		"elsewhere": {Name: "http", Port: listening["a"], TargetPort: intstr.FromInt32(other + 2)}, // pod a listens on its port
	} {
		svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: corev1.ServiceSpec{Selector: sel, Ports: []corev1.ServicePort{sp}}}
		if err := cp.Client.Create(ctx, svc); err != nil {
			t.Fatal(err)
		}
	}
	// A UDP port of svcPort's number forwarding elsewhere, before the TCP one forwarding
	// it as is.
	{
		svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "udp-first"}, Spec: corev1.ServiceSpec{Selector: sel, Ports: []corev1.ServicePort{
			{Name: "dns", Port: svcPort, Protocol: corev1.ProtocolUDP, TargetPort: intstr.FromInt32(other + 3)},
			{Name: "http", Port: svcPort, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(svcPort)},
		}}}
		if err := cp.Client.Create(ctx, svc); err != nil {
			t.Fatal(err)
		}
	}
	for name, target := range map[string]intstr.IntOrString{
		"by-number":  intstr.FromInt32(listening["a"]),
		"by-name":    intstr.FromString("metrics"),
		"as-is":      intstr.FromInt32(svcPort),
		"same-name":  intstr.FromString("same"), // a's port of that name is svcPort; b has none
		"by-sidecar": intstr.FromString("side"), // a's on a sidecar; b's on an init container that runs once
	} {
		svc := &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: corev1.ServiceSpec{Selector: sel, Ports: []corev1.ServicePort{
				{Name: "grpc", Port: other + 1, TargetPort: intstr.FromInt32(other + 1)},
				{Name: "http", Port: svcPort, TargetPort: target},
			}},
		}
		if err := cp.Client.Create(ctx, svc); err != nil {
			t.Fatal(err)
		}
	}

	byName := func(port int32) string {
		return fmt.Sprintf("port %d is service %s/by-name's port \"http\", which forwards to the pods' port named \"metrics\", %d on this pod", svcPort, ns, port)
	}
	for _, c := range []struct {
		name    string
		service string
		port    int32
		want    map[string]string // by pod refusing port: what its error says, "" nothing about ports
		path    string            // MetricsPath, when not the default
	}{
		{"the Service's port, a targetPort number", "by-number", svcPort, map[string]string{
			"a": fmt.Sprintf("port %d is service %s/by-number's port \"http\", which forwards to the pods' port %d", svcPort, ns, listening["a"]),
			"b": fmt.Sprintf("port %d is service %s/by-number's port \"http\", which forwards to the pods' port %d", svcPort, ns, listening["a"])}, ""},
		{"the Service's port, a targetPort name", "by-name", svcPort, map[string]string{"a": byName(listening["a"]), "b": byName(listening["b"])}, ""},
		{"a targetPort name the pods declare differently", "by-name", listening["a"], map[string]string{
			"b": fmt.Sprintf("this pod's port named \"metrics\", to which service %s/by-name's port \"http\" forwards, is %d, not %d as on other pods", ns, listening["b"], listening["a"])}, ""},
		{"a port the Service forwards as is", "as-is", svcPort, map[string]string{"a": "", "b": ""}, ""},
		{"a targetPort name that is the port, or that the pod lacks", "same-name", svcPort, map[string]string{"a": "", "b": ""}, ""},
		{"no port of the Service", "by-name", other, map[string]string{"a": "", "b": ""}, ""},
		{"a targetPort name on a sidecar, not on an init container run once", "by-sidecar", svcPort, map[string]string{
			"a": fmt.Sprintf("port %d is service %s/by-sidecar's port \"http\", which forwards to the pods' port named \"side\", %d on this pod", svcPort, ns, side["a"]),
			"b": ""}, ""},
		{"a UDP port of the Service's number", "udp-first", svcPort, map[string]string{"a": "", "b": ""}, ""},
		{"the Service's port, answered with an error", "elsewhere", listening["a"], map[string]string{
			"a": "", // listens there: its 500 is its own
			"b": fmt.Sprintf("port %d is service %s/elsewhere's port \"http\", which forwards to the pods' port %d", listening["a"], ns, other+2)}, "/fail"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := NewPodScrapingSource(ctx, cp.Client, PodScrapingSourceConfig{ServiceName: c.service, ServiceNamespace: ns, MetricsPort: c.port, MetricsPath: c.path})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			rs, err := s.Refresh(ctx, source.RefreshSpec{})
			if err == nil {
				err = rs[AllMetricsQuery].Error
			}
			pods := source.PodErrors(err)
			if len(pods) != len(c.want) {
				t.Fatalf("Refresh: %v, want pods %v failed", err, c.want)
			}
			for _, pe := range pods {
				msg := pe.Error()
				want, failing := c.want[pe.PodName()]
				if refused := strings.Contains(msg, "connection refused") && pe.Reason() == ReasonConnect; !failing || refused != (c.path == "" || pe.PodName() == "b") {
					t.Errorf("pod %s: %q (reason %s), want it up, or refused (on %s, pod a answering), if in %v", pe.PodName(), msg, pe.Reason(), c.path, c.want)
				}
				switch {
				case want == "" && strings.Contains(msg, "forwards"):
					t.Errorf("pod %s: %q, want nothing about the Service's ports", pe.PodName(), msg)
				case want != "" && !strings.Contains(msg, want):
					t.Errorf("pod %s: %q, want it to say %q", pe.PodName(), msg, want)
				}
				if path := cmp.Or(c.path, DefaultMetricsPath); !strings.Contains(msg, ":"+strconv.Itoa(int(c.port))+path) {
					t.Errorf("pod %s: %q, want the URL tried", pe.PodName(), msg)
				}
			}
		})
	}
}
