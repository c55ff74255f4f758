package serve_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/go-logr/logr"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/podscrape/podscrape/podscrapetest"
	"github.com/podscrape/podscrape/serve"
)

// token creates ServiceAccount namespace/name and returns a token of it.
func token(t *testing.T, namespace, name string) string {
	t.Helper()
	ctx := t.Context()
	if err := env.Client.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}}); err != nil {
		t.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := cs.CoreV1().ServiceAccounts(namespace).CreateToken(logr.NewContext(ctx, logr.Discard()), name, &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return tr.Status.Token
}

// kubeAuthServer runs serve over svc behind WithKubernetesAuth with opts, the test's API
// server doing the reviews, and returns serve and the guarded handler.
func kubeAuthServer(t *testing.T, svc *podscrapetest.Service, opts ...serve.AuthOption) (*serve.Server, http.Handler) {
	t.Helper()
	srv, err := serve.New(t.Context(), env.Client, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	h, err := serve.WithKubernetesAuth(srv.Handler(), env.Config, logr.Discard(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return srv, h
}

// grant lets the ServiceAccount ns/account use verbs on the non-resource URLs paths,
// through a ClusterRole and its binding named role.
func grant(t *testing.T, ns, account, role string, paths []string, verbs ...string) {
	t.Helper()
	if err := env.Client.Create(t.Context(), &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: role},
		Rules:      []rbacv1.PolicyRule{{NonResourceURLs: paths, Verbs: verbs}},
	}); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.Create(t.Context(), &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: role},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: ns, Name: account}},
	}); err != nil {
		t.Fatal(err)
	}
}

func TestKubernetesAuth(t *testing.T) {
	svc := newService(t, "vllm", 1, waiting)
	_, h := kubeAuthServer(t, svc)
	hs := httptest.NewServer(h)
	defer hs.Close()

	reader, stranger := token(t, svc.Namespace, "reader"), token(t, svc.Namespace, "stranger")
	// The reader's token for another audience than the API server's, as KEDA 2.21 and
	// later mint the tokens of a TriggerAuthentication's boundServiceAccountToken: the
	// TokenReview, which names no audience, rejects it (docs/serve.md, KEDA).
	cs, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := cs.CoreV1().ServiceAccounts(svc.Namespace).CreateToken(logr.NewContext(t.Context(), logr.Discard()), "reader",
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{Audiences: []string{"podscrape"}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	readerOtherAudience := tr.Status.Token
	grant(t, svc.Namespace, "reader", "podscrape-serve-reader-"+svc.Namespace, []string{serve.AuthPathPrefix + "/api/v1/*"}, "get", "post")

	do := func(method, path, tok string) int {
		var body io.Reader
		if method == http.MethodPost {
			body = strings.NewReader(url.Values{"query": {"1"}}.Encode())
		}
		req, err := http.NewRequest(method, hs.URL+path, body)
		if err != nil {
			t.Fatal(err)
		}
		if method == http.MethodPost {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, tc := range []struct {
		method, path, token string
		want                int
	}{
		{http.MethodGet, "/api/v1/query?query=1", "", http.StatusUnauthorized},
		{http.MethodGet, "/api/v1/query?query=1", "not-a-token", http.StatusUnauthorized}, // the TokenReview rejects it
		// Kubernetes' system:discovery lets every authenticated user get /api/*: the
		// prefix keeps that rule from granting Prometheus' /api/v1/... paths.
		{http.MethodGet, "/api/v1/query?query=1", stranger, http.StatusForbidden},
		{http.MethodGet, "/api/v1/query?query=1", reader, http.StatusOK},
		{http.MethodGet, "/api/v1/query?query=1", readerOtherAudience, http.StatusUnauthorized},
		{http.MethodPost, "/api/v1/query", reader, http.StatusOK},
		{http.MethodGet, "/federate?match[]=up", reader, http.StatusForbidden}, // the role grants /api/v1/* only
		// KEDA joins its serverAddress and /api/v1/query as strings: a serverAddress
		// ending in a slash asks //api/v1/query, which the router redirects to its
		// clean form, as Prometheus' does. Reviewed as asked, /podscrape//api/v1/query
		// is no path the role grants: 403 for every poll.
		{http.MethodGet, "//api/v1/query?query=1", reader, http.StatusOK},
		{http.MethodPost, "//api/v1/query", reader, http.StatusOK},
		{http.MethodGet, "/api/v1//query?query=1", reader, http.StatusOK},
		{http.MethodGet, "//federate?match[]=up", reader, http.StatusForbidden},
		// A path that climbs out of what the role grants is redirected to its clean
		// form, which is reviewed in turn: never served under the granted prefix.
		{http.MethodGet, "/api/v1/../../federate?match[]=up", reader, http.StatusForbidden},
		{http.MethodGet, "/api/v1/%2e%2e/%2e%2e/federate?match[]=up", reader, http.StatusForbidden},
		{http.MethodGet, "/api/v1/..%2f..%2ffederate?match[]=up", reader, http.StatusForbidden},
		{http.MethodGet, "/-/healthy/../../federate?match[]=up", "", http.StatusUnauthorized},
		{http.MethodGet, "/-/healthy/../../metrics", "", http.StatusUnauthorized},
		{http.MethodGet, "/%2D/healthy", "", http.StatusOK},
		{http.MethodGet, "/-/healthy", "", http.StatusOK},               // probes carry no token
		{http.MethodGet, "/-/ready", "", http.StatusServiceUnavailable}, // not scraped yet, but answered
		{http.MethodHead, "/-/healthy", "", http.StatusOK},
		// Only a GET or HEAD of the probes' paths passes without a token, as the docs
		// have it: no other method, with a body (POST here) or without (PUT).
		{http.MethodPost, "/-/healthy", "", http.StatusUnauthorized},
		{http.MethodPut, "/-/ready", "", http.StatusUnauthorized},
	} {
		who := map[string]string{"": "no token", "not-a-token": "a bad token", stranger: "stranger", reader: "reader",
			readerOtherAudience: "reader, audience podscrape"}[tc.token]
		if got := do(tc.method, tc.path, tc.token); got != tc.want {
			t.Errorf("%s %s as %s: %d, want %d", tc.method, tc.path, who, got, tc.want)
		}
	}
	// A POST without a body is no probe either.
	resp, err := http.Post(hs.URL+"/-/healthy", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("POST /-/healthy without a body, no token: %d, want 401", resp.StatusCode)
	}
}

// audienceToken mints a token of ServiceAccount namespace/name, which must exist, valid
// for audiences (the API server's own when none), with the TokenRequest API.
func audienceToken(t *testing.T, namespace, name string, audiences ...string) string {
	t.Helper()
	cs, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := cs.CoreV1().ServiceAccounts(namespace).CreateToken(logr.NewContext(t.Context(), logr.Discard()), name,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{Audiences: audiences}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return tr.Status.Token
}

// TestKubernetesAuthTokenAudiences: with TokenAudiences("podscrape") (serve's
// --auth-token-audiences), a token minted for audience podscrape, as KEDA 2.21's
// boundServiceAccountToken mints one, is accepted, and a token for the API server, which
// serve could replay there, is refused; without the option, the reverse. Before, the
// TokenReview named no audience: only API-server tokens passed.
func TestKubernetesAuthTokenAudiences(t *testing.T) {
	svc := newService(t, "vllm", 1, waiting)
	srv, withAudience := kubeAuthServer(t, svc, serve.TokenAudiences("podscrape"))
	withoutAudience, err := serve.WithKubernetesAuth(srv.Handler(), env.Config, logr.Discard())
	if err != nil {
		t.Fatal(err)
	}
	// A ServiceAccount bound to nothing: an accepted token gets 403, a refused one 401.
	apiToken := token(t, svc.Namespace, "keda")
	podscrapeToken := audienceToken(t, svc.Namespace, "keda", "podscrape")
	bothToken := audienceToken(t, svc.Namespace, "keda", "elsewhere", "podscrape")
	otherToken := audienceToken(t, svc.Namespace, "keda", "elsewhere")
	for _, tc := range []struct {
		name  string
		h     http.Handler
		token string
		want  int
	}{
		{"--auth-token-audiences podscrape, a podscrape token", withAudience, podscrapeToken, http.StatusForbidden},
		{"--auth-token-audiences podscrape, a token for elsewhere and podscrape", withAudience, bothToken, http.StatusForbidden},
		{"--auth-token-audiences podscrape, an API server token", withAudience, apiToken, http.StatusUnauthorized},
		{"--auth-token-audiences podscrape, a token for elsewhere", withAudience, otherToken, http.StatusUnauthorized},
		{"no audiences, a podscrape token", withoutAudience, podscrapeToken, http.StatusUnauthorized},
		{"no audiences, an API server token", withoutAudience, apiToken, http.StatusForbidden},
		// The answers are cached by token: asked again, the same.
		{"--auth-token-audiences podscrape, a podscrape token again", withAudience, podscrapeToken, http.StatusForbidden},
		{"--auth-token-audiences podscrape, an API server token again", withAudience, apiToken, http.StatusUnauthorized},
	} {
		req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/api/v1/query?query=1", nil)
		req.Header.Set("Authorization", "Bearer "+tc.token)
		w := httptest.NewRecorder()
		tc.h.ServeHTTP(w, req)
		if w.Code != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, w.Code, tc.want)
		}
	}
}
