package pod

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/podscrape/podscrape/internal/localcluster"
	"github.com/podscrape/podscrape/source"
)

func TestPodIPOfTheServicesFamilyElsePodIPsFirst(t *testing.T) {
	ips := func(ips ...string) []corev1.PodIP {
		out := make([]corev1.PodIP, len(ips))
		for i, ip := range ips {
			out[i] = corev1.PodIP{IP: ip}
		}
		return out
	}
	for _, tc := range []struct {
		name   string
		status corev1.PodStatus
		family corev1.IPFamily // the Service's primary
		want   string
	}{
		{"podIPs[0] differs from podIP", corev1.PodStatus{PodIP: "10.0.0.1", PodIPs: ips("10.0.0.2", "10.0.0.1")}, "", "10.0.0.2"},
		{"dual stack, IPv6 first", corev1.PodStatus{PodIP: "10.0.0.1", PodIPs: ips("fd00::1", "10.0.0.1")}, "", "fd00::1"},
		{"dual stack, IPv6 first, IPv4 Service", corev1.PodStatus{PodIP: "fd00::1", PodIPs: ips("fd00::1", "10.0.0.1")}, corev1.IPv4Protocol, "10.0.0.1"},
		{"dual stack, IPv4 first, IPv6 Service", corev1.PodStatus{PodIP: "10.0.0.1", PodIPs: ips("10.0.0.1", "fd00::1")}, corev1.IPv6Protocol, "fd00::1"},
		{"dual stack, IPv4 first, IPv4 Service", corev1.PodStatus{PodIP: "10.0.0.1", PodIPs: ips("10.0.0.1", "fd00::1")}, corev1.IPv4Protocol, "10.0.0.1"},
		{"IPv4 only, IPv6 Service", corev1.PodStatus{PodIP: "10.0.0.1", PodIPs: ips("10.0.0.1")}, corev1.IPv6Protocol, "10.0.0.1"},
		{"only podIP, IPv6 Service", corev1.PodStatus{PodIP: "10.0.0.1"}, corev1.IPv6Protocol, "10.0.0.1"},
		{"only podIP", corev1.PodStatus{PodIP: "10.0.0.1"}, "", "10.0.0.1"},
		{"podIPs[0] empty", corev1.PodStatus{PodIP: "10.0.0.1", PodIPs: ips("")}, "", "10.0.0.1"},
		{"no IP yet", corev1.PodStatus{}, corev1.IPv4Protocol, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := podIP(&corev1.Pod{Status: tc.status}, tc.family); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestDiscoveryGivesUpOnAnInformerThatCannotSync: a manager's cached client waits for
// its informer to sync before it answers, and an informer whose identity may not list
// and watch the kind in every namespace the cache watches (a namespaced Role, a cache
// watching the whole cluster: the default) never syncs. Refresh, called with a context
// without a deadline as a reconcile's is, waited for ever; each API read is bounded now,
// and the error names the Service and what the informer needs. The same holds for the
// token Secret read through a cached SecretReader.
func TestDiscoveryGivesUpOnAnInformerThatCannotSync(t *testing.T) {
	saved := apiReadTimeout
	apiReadTimeout = time.Second
	t.Cleanup(func() { apiReadTimeout = saved })
	cfg := startHandlerPod(t, http.NotFoundHandler())
	ctx, cancel := context.WithCancel(context.Background()) // no deadline
	t.Cleanup(cancel)

	// A user that may get, list and watch services, pods and secrets in the Service's
	// namespace only.
	user := "namespaced-" + cfg.ServiceNamespace
	userCfg, err := cp.AddUser(user)
	if err != nil {
		t.Fatal(err)
	}
	role := &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Namespace: cfg.ServiceNamespace, Name: "discover"},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"services", "pods", "secrets"}, Verbs: []string{"get", "list", "watch"}}},
	}
	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: cfg.ServiceNamespace, Name: "discover"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "discover"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user}},
	}
	for _, obj := range []client.Object{role, binding} {
		if err := cp.Client.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}
	// A cache watching every namespace, as a manager's does by default.
	informers, err := cache.New(userCfg, cache.Options{Scheme: localcluster.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = informers.Start(logr.NewContext(ctx, logr.Discard())) }()
	if !informers.WaitForCacheSync(ctx) { // started, no informer yet
		t.Fatal("the cache did not start")
	}
	direct, err := client.New(userCfg, client.Options{Scheme: localcluster.Scheme()})
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name   string
		reader client.Reader // discovery's
		secret client.Reader // SecretReader
		want   []string
	}{
		{"cached discovery", informers, nil, []string{"get service " + cfg.ServiceNamespace + "/pod", "list and watch on services"}},
		{"cached Secret", direct, informers, []string{"read metrics reader secret " + cfg.ServiceNamespace + "/token", "list and watch on secrets"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := cfg
			c.MetricsReaderSecretName = "token"
			c.SecretReader = tc.secret
			s, err := NewPodScrapingSource(ctx, tc.reader, c)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(s.Close)
			done := make(chan error, 1)
			go func() {
				_, err := s.Refresh(ctx, source.RefreshSpec{})
				done <- err
			}()
			select {
			case err := <-done:
				for _, want := range tc.want {
					if err == nil || !strings.Contains(err.Error(), want) {
						t.Fatalf("Refresh: got %v, want an error saying %q", err, want)
					}
				}
			case <-time.After(30 * apiReadTimeout):
				t.Fatalf("Refresh has not returned %s after it started, with an informer that cannot sync", 30*apiReadTimeout)
			}
		})
	}
}
