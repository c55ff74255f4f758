package e2e

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/podscrape/podscrape/internal/localcluster"
	"github.com/podscrape/podscrape/source/pod"
)

// countingReader is the real client, counting the Gets of each kind.
type countingReader struct {
	client.Reader
	mu   sync.Mutex // protects gets
	gets map[string]int
}

func (c *countingReader) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	c.mu.Lock()
	if c.gets == nil {
		c.gets = map[string]int{}
	}
	switch obj.(type) {
	case *corev1.Secret:
		c.gets["secret"]++
	case *corev1.Service:
		c.gets["service"]++
	}
	c.mu.Unlock()
	return c.Reader.Get(ctx, key, obj, opts...)
}

func (c *countingReader) count(kind string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gets[kind]
}

func createSecret(t *testing.T, ns, name string, data map[string]string) *corev1.Secret {
	t.Helper()
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, StringData: data}
	if err := cp.Client.Create(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	return s
}

// authHeaders returns the Authorization header of every request the recorders saw.
func authHeaders(recs ...*recorder) []string {
	var out []string
	for _, rec := range recs {
		for _, r := range rec.seen() {
			out = append(out, r.Header.Get("Authorization"))
		}
	}
	return out
}

func TestAuthTokenSources(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// setup creates what the case needs and returns the config changes.
		setup func(t *testing.T, ns string, cfg *pod.PodScrapingSourceConfig)
		want  string
	}{
		{
			name:  "no auth configured",
			setup: func(*testing.T, string, *pod.PodScrapingSourceConfig) {},
			want:  "",
		},
		{
			name: "secret in the service namespace",
			setup: func(t *testing.T, ns string, cfg *pod.PodScrapingSourceConfig) {
				createSecret(t, ns, "reader", map[string]string{"token": "tok-same-ns\n"})
				cfg.MetricsReaderSecretName = "reader"
			},
			want: "Bearer tok-same-ns",
		},
		{
			name: "secret in another namespace with a custom key",
			setup: func(t *testing.T, _ string, cfg *pod.PodScrapingSourceConfig) {
				other := newNamespace(t)
				createSecret(t, other, "reader", map[string]string{"bearer": "tok-other-ns"})
				cfg.MetricsReaderSecretName = "reader"
				cfg.MetricsReaderSecretNamespace = other
				cfg.MetricsReaderSecretKey = "bearer"
			},
			want: "Bearer tok-other-ns",
		},
		{
			name: "direct token wins over the secret",
			setup: func(t *testing.T, ns string, cfg *pod.PodScrapingSourceConfig) {
				createSecret(t, ns, "reader", map[string]string{"token": "from-secret"})
				cfg.MetricsReaderSecretName = "reader"
				cfg.BearerToken = "direct"
			},
			want: "Bearer direct",
		},
		{
			name: "missing secret means no auth",
			setup: func(_ *testing.T, _ string, cfg *pod.PodScrapingSourceConfig) {
				cfg.MetricsReaderSecretName = "absent"
			},
			want: "",
		},
		{
			name: "secret without the key means no auth",
			setup: func(t *testing.T, ns string, cfg *pod.PodScrapingSourceConfig) {
				createSecret(t, ns, "reader", map[string]string{"other": "x"})
				cfg.MetricsReaderSecretName = "reader"
			},
			want: "",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a, b := &recorder{body: []byte("m 1\n")}, &recorder{body: []byte("m 1\n")}
			f := startService(t, podDef{name: "a", handler: a}, podDef{name: "b", handler: b})
			cfg := f.config()
			tc.setup(t, f.ns, &cfg)
			r := mustRefresh(t, newSource(t, cfg))
			if r.Error != nil {
				t.Fatal(r.Error)
			}
			for _, got := range authHeaders(a, b) {
				if got != tc.want {
					t.Fatalf("Authorization: got %q, want %q", got, tc.want)
				}
			}
		})
	}
}

func TestAuthSecretReadOncePerRefreshAndRotationPickedUp(t *testing.T) {
	t.Parallel()
	recs := []*recorder{{body: []byte("m 1\n")}, {body: []byte("m 1\n")}, {body: []byte("m 1\n")}}
	f := startService(t, podDef{name: "a", handler: recs[0]}, podDef{name: "b", handler: recs[1]}, podDef{name: "c", handler: recs[2]})
	secret := createSecret(t, f.ns, "reader", map[string]string{"token": "first"})
	reader := &countingReader{Reader: cp.Client}
	cfg := f.config()
	cfg.MetricsReaderSecretName = "reader"
	s, err := pod.NewPodScrapingSource(context.Background(), reader, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)

	mustRefresh(t, s)
	if got := reader.count("secret"); got != 1 {
		t.Fatalf("secret reads for one refresh of 3 pods: got %d, want 1", got)
	}
	secret.StringData = map[string]string{"token": "rotated"}
	if err := cp.Client.Update(context.Background(), secret); err != nil {
		t.Fatal(err)
	}
	mustRefresh(t, s)
	if got := reader.count("secret"); got != 2 {
		t.Fatalf("secret reads after two refreshes: got %d, want 2", got)
	}
	headers := authHeaders(recs...)
	for _, rec := range recs {
		seen := rec.seen()
		if got := seen[len(seen)-1].Header.Get("Authorization"); got != "Bearer rotated" {
			t.Fatalf("after rotation: got %q, want %q (all: %v)", got, "Bearer rotated", headers)
		}
	}
}

// The guide's "BearerToken takes precedence over secret-based auth": with both set, the
// Secret is not read at all (docs/library.md: "no Secret is read"), so an identity that
// may not read it still scrapes with the direct token, and a Secret naming another
// token changes nothing.
func TestAuthBearerTokenReadsNoSecret(t *testing.T) {
	t.Parallel()
	rec := &recorder{body: []byte("m 1\n")}
	f := startService(t, podDef{name: "a", handler: rec})
	createSecret(t, f.ns, "reader", map[string]string{"token": "from-secret"})
	reader := &countingReader{Reader: cp.Client}
	cfg := f.config()
	cfg.MetricsReaderSecretName = "reader"
	cfg.BearerToken = "direct"
	s, err := pod.NewPodScrapingSource(context.Background(), reader, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	for range 2 {
		if r := mustRefresh(t, s); r.Error != nil {
			t.Fatal(r.Error)
		}
	}
	if got := reader.count("secret"); got != 0 {
		t.Fatalf("secret reads with BearerToken set: got %d, want 0", got)
	}
	for _, got := range authHeaders(rec) {
		if got != "Bearer direct" {
			t.Fatalf("Authorization: got %q, want %q", got, "Bearer direct")
		}
	}
}

// The guide's RBAC is enough: a client whose identity has only what the guide's
// prerequisites list (get, list and watch on services and pods in the Service's
// namespace; get on secrets, here in another namespace, as its cross-namespace
// authentication asks) discovers the pods, reads the token Secret and scrapes with it.
func TestAuthGuideRBACIsEnough(t *testing.T) {
	t.Parallel()
	rec := &recorder{body: []byte("m 1\n")}
	f := startService(t, podDef{name: "a", handler: rec})
	secretNS := newNamespace(t)
	createSecret(t, secretNS, "metrics-reader-token", map[string]string{"token": "guide-token"})
	ctx := context.Background()
	user := "guide-rbac-" + f.ns
	userCfg, err := cp.AddUser(user)
	if err != nil {
		t.Fatal(err)
	}
	grant := func(ns string, rules ...rbacv1.PolicyRule) {
		role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "podscraping"}, Rules: rules}
		binding := &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "podscraping"},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "podscraping"},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user}},
		}
		for _, obj := range []client.Object{role, binding} {
			if err := cp.Client.Create(ctx, obj); err != nil {
				t.Fatal(err)
			}
		}
	}
	grant(f.ns,
		rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"services"}, Verbs: []string{"get", "list", "watch"}},
		rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get", "list", "watch"}})
	grant(secretNS, rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get"}})
	restricted, err := client.New(userCfg, client.Options{Scheme: localcluster.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	cfg := f.config()
	cfg.MetricsReaderSecretName = "metrics-reader-token"
	cfg.MetricsReaderSecretNamespace = secretNS
	cfg.MetricsReaderSecretKey = "token"
	s, err := pod.NewPodScrapingSource(ctx, restricted, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	if r := mustRefresh(t, s); r.Error != nil {
		t.Fatal(r.Error)
	}
	if got := authHeaders(rec); len(got) != 1 || got[0] != "Bearer guide-token" {
		t.Fatalf("Authorization: got %q, want one request with the Secret's token", got)
	}
}

func TestAuthSecretForbiddenFailsNamingSecretAndRBAC(t *testing.T) {
	t.Parallel()
	rec := &recorder{body: []byte("m 1\n")}
	f := startService(t, podDef{name: "a", handler: rec})
	createSecret(t, f.ns, "reader", map[string]string{"token": "t"})
	ctx := context.Background()

	// A user that may read the Service and its pods, but not secrets.
	user := "restricted-" + f.ns
	userCfg, err := cp.AddUser(user)
	if err != nil {
		t.Fatal(err)
	}
	role := &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: "discover"},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"services", "pods"}, Verbs: []string{"get", "list", "watch"}}},
	}
	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: "discover"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "discover"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user}},
	}
	for _, obj := range []client.Object{role, binding} {
		if err := cp.Client.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}
	restricted, err := client.New(userCfg, client.Options{Scheme: localcluster.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	cfg := f.config()
	cfg.MetricsReaderSecretName = "reader"
	s, err := pod.NewPodScrapingSource(ctx, restricted, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)

	_, err = refresh(t, s)
	if !apierrors.IsForbidden(errors.Unwrap(err)) && !apierrors.IsForbidden(err) {
		t.Fatalf("Refresh: got %v, want a Forbidden error", err)
	}
	for _, want := range []string{f.ns + "/reader", "get on secrets"} {
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("error %q: want it to say %q", err, want)
		}
	}
	if n := len(rec.seen()); n != 0 {
		t.Fatalf("pod requests: got %d, want none (no scrape without the token)", n)
	}
}

// TestDiscoveryErrorNamesTheRBACOnlyWhenForbidden holds library.md's and guide.md's
// discovery errors to what they say: a read of the Service or of its pods that RBAC
// refuses names the object and the rule it needs; one that fails for another cause (the
// API server refusing connections) names the object and the cause, without an RBAC
// hint that would send the operator to the wrong place.
func TestDiscoveryErrorNamesTheRBACOnlyWhenForbidden(t *testing.T) {
	t.Parallel()
	f := startService(t, podDef{name: "a", handler: serve([]byte("m 1\n"))})
	ctx := context.Background()
	key := f.ns + "/" + f.svc

	// A user that may get Services but not list pods, and one that may do neither.
	for _, tc := range []struct {
		name  string
		rules []rbacv1.PolicyRule
		want  []string
	}{
		{"nothing", nil, []string{"get service " + key, "needs RBAC get on services in namespace " + f.ns}},
		{"services only", []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"services"}, Verbs: []string{"get"}}},
			[]string{"list pods of service " + key, "needs RBAC list on pods in namespace " + f.ns}},
	} {
		user := "discovery-" + strings.ReplaceAll(tc.name, " ", "-") + "-" + f.ns
		userCfg, err := cp.AddUser(user)
		if err != nil {
			t.Fatal(err)
		}
		if tc.rules != nil {
			role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: user}, Rules: tc.rules}
			binding := &rbacv1.RoleBinding{
				ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: user},
				RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: user},
				Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user}},
			}
			for _, obj := range []client.Object{role, binding} {
				if err := cp.Client.Create(ctx, obj); err != nil {
					t.Fatal(err)
				}
			}
		}
		c, err := client.New(userCfg, client.Options{Scheme: localcluster.Scheme()})
		if err != nil {
			t.Fatal(err)
		}
		_, err = refresh(t, sourceOn(t, c, f.config()))
		if err == nil || !apierrors.IsForbidden(errors.Unwrap(err)) {
			t.Errorf("%s: Refresh error %v, want a Forbidden error", tc.name, err)
			continue
		}
		for _, want := range tc.want {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s: error %q, want it to say %q", tc.name, err, want)
			}
		}
	}

	// An API server that refuses connections: the cause, no RBAC hint.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	c, err := client.New(&rest.Config{Host: "http://" + closed}, client.Options{Scheme: localcluster.Scheme(), Mapper: cp.Client.RESTMapper()})
	if err != nil {
		t.Fatal(err)
	}
	_, err = refresh(t, sourceOn(t, c, f.config()))
	if err == nil || !strings.Contains(err.Error(), "get service "+key) || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("API server down: Refresh error %v, want it to name the Service and the refused connection", err)
	}
	if strings.Contains(err.Error(), "RBAC") {
		t.Errorf("API server down: error %q hints at RBAC, which is not the cause", err)
	}
}

// sourceOn builds a source reading through c and closes it when t ends.
func sourceOn(t *testing.T, c client.Reader, cfg pod.PodScrapingSourceConfig) *pod.PodScrapingSource {
	t.Helper()
	s, err := pod.NewPodScrapingSource(context.Background(), c, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}
