package kubeauth_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	authenticationv1 "k8s.io/api/authentication/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"

	authenticationclient "k8s.io/client-go/kubernetes/typed/authentication/v1"

	"github.com/podscrape/podscrape/internal/kubeauth"
	"github.com/podscrape/podscrape/internal/localcluster"
)

// cp is the API server whose reviews every test asks.
var cp *localcluster.ControlPlane

func TestMain(m *testing.M) {
	os.Exit(localcluster.Run(localcluster.Options{Progress: os.Stderr}, func(c *localcluster.ControlPlane) int {
		cp = c
		return m.Run()
	}))
}

// grantMetrics lets ServiceAccount namespace/name get /metrics (localcluster's reader
// role, as the demo grants the EPP's reader), through a ClusterRole and binding of its own.
func grantMetrics(t *testing.T, namespace, name string) {
	t.Helper()
	if err := cp.MetricsReaderRBAC(t.Context(), namespace+"-"+name, rbacv1.Subject{Kind: "ServiceAccount", Namespace: namespace, Name: name}); err != nil {
		t.Fatal(err)
	}
}

// token creates ServiceAccount namespace/name and returns a token of it.
func token(t *testing.T, namespace, name string) string {
	t.Helper()
	ctx := t.Context()
	if err := cp.CreateNamespace(ctx, namespace); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	tok, err := cp.ServiceAccountToken(ctx, namespace, name)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// counted is cfg with its review requests counted, by resource.
func counted(cfg *rest.Config) (*rest.Config, func(resource string) int) {
	cfg = rest.CopyConfig(cfg)
	var mu sync.Mutex
	n := map[string]int{}
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return roundTripper(func(r *http.Request) (*http.Response, error) {
			mu.Lock()
			n[r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]]++
			mu.Unlock()
			return rt.RoundTrip(r)
		})
	})
	return cfg, func(resource string) int {
		mu.Lock()
		defer mu.Unlock()
		return n[resource]
	}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// status is the HTTP status h answers method on path with Bearer tok ("" sends no
// Authorization header; a token with a space is sent as the whole header).
func status(t *testing.T, h http.Handler, method, path, tok string) int {
	t.Helper()
	req := httptest.NewRequestWithContext(t.Context(), method, path, nil)
	switch {
	case strings.Contains(tok, " "):
		req.Header.Set("Authorization", tok)
	case tok != "":
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	_, _ = io.Copy(io.Discard, w.Result().Body)
	return w.Code
}

var ok = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })

func TestWrap(t *testing.T) {
	f, err := kubeauth.New(cp.Config, logr.Discard())
	if err != nil {
		t.Fatal(err)
	}
	h := f.Wrap(ok)
	reader, stranger := token(t, "wrap", "reader"), token(t, "wrap", "stranger")
	grantMetrics(t, "wrap", "reader")
	for _, tc := range []struct {
		name, method, path, token string
		want                      int
	}{
		{"no token", http.MethodGet, "/metrics", "", http.StatusUnauthorized},
		{"basic auth", http.MethodGet, "/metrics", "Basic cmVhZGVyOnB3", http.StatusUnauthorized},
		{"empty bearer", http.MethodGet, "/metrics", "Bearer  ", http.StatusUnauthorized},
		{"a token the API server did not issue", http.MethodGet, "/metrics", "not-a-token", http.StatusUnauthorized},
		{"a token of nobody granted", http.MethodGet, "/metrics", stranger, http.StatusForbidden},
		{"the reader", http.MethodGet, "/metrics", reader, http.StatusOK},
		{"the reader, scheme in lower case", http.MethodGet, "/metrics", "bearer " + reader, http.StatusOK},
		{"the reader, a verb not granted", http.MethodPost, "/metrics", reader, http.StatusForbidden},
		{"the reader, a path not granted", http.MethodGet, "/debug", reader, http.StatusForbidden},
	} {
		if got := status(t, h, tc.method, tc.path, tc.token); got != tc.want {
			t.Errorf("%s: %s %s: %d, want %d", tc.name, tc.method, tc.path, got, tc.want)
		}
	}
}

// TestTokenNotPassedOn: the handler behind the filter gets the request without its
// Authorization header, so it cannot forward the token; the caller's request keeps it.
func TestTokenNotPassedOn(t *testing.T) {
	f, err := kubeauth.New(cp.Config, logr.Discard())
	if err != nil {
		t.Fatal(err)
	}
	grantMetrics(t, "passon", "reader")
	reader := token(t, "passon", "reader")
	var seen http.Header
	h := f.Wrap(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { seen = r.Header.Clone() }))
	req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+reader)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusOK || seen == nil {
		t.Fatalf("reader: %d, the handler called: %v; want 200 from the handler", w.Code, seen != nil)
	}
	for name, values := range seen {
		for _, v := range values {
			if strings.Contains(v, reader) {
				t.Errorf("the handler got the token in header %s", name)
			}
		}
	}
	if got := req.Header.Get("Authorization"); got != "Bearer "+reader {
		t.Errorf("the caller's request lost its Authorization header (%d bytes left): the filter modified it", len(got))
	}
}

// clockedFilter is a Filter whose reviews are counted by resource (counted) and whose
// clock moves only when the test moves *now.
func clockedFilter(t *testing.T) (*kubeauth.Filter, func(resource string) int, *time.Time) {
	t.Helper()
	cfg, reviews := counted(cp.Config)
	f, err := kubeauth.New(cfg, logr.Discard())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_700_000_000, 0)
	f.SetClock(func() time.Time { return now })
	return f, reviews, &now
}

// TestReviewsAreReused holds the cache to its lifetimes with a clock that moves only when
// told: a token's review for a minute, an allowed access for five, a denied one for 30 s.
func TestReviewsAreReused(t *testing.T) {
	f, reviews, now := clockedFilter(t)
	h := f.Wrap(ok)
	reader, stranger := token(t, "reuse", "reader"), token(t, "reuse", "stranger")
	grantMetrics(t, "reuse", "reader")

	want := func(step string, tokenReviews, accessReviews int) {
		t.Helper()
		if got := reviews("tokenreviews"); got != tokenReviews {
			t.Errorf("%s: %d TokenReviews, want %d", step, got, tokenReviews)
		}
		if got := reviews("subjectaccessreviews"); got != accessReviews {
			t.Errorf("%s: %d SubjectAccessReviews, want %d", step, got, accessReviews)
		}
	}
	for range 3 {
		if got := status(t, h, http.MethodGet, "/metrics", reader); got != http.StatusOK {
			t.Fatalf("reader: %d", got)
		}
		if got := status(t, h, http.MethodGet, "/metrics", stranger); got != http.StatusForbidden {
			t.Fatalf("stranger: %d", got)
		}
		if got := status(t, h, http.MethodGet, "/metrics", "not-a-token"); got != http.StatusUnauthorized {
			t.Fatalf("not a token: %d", got)
		}
	}
	want("three rounds at once", 3, 2)

	*now = (*now).Add(kubeauth.DeniedTTL)
	status(t, h, http.MethodGet, "/metrics", reader)
	status(t, h, http.MethodGet, "/metrics", stranger)
	want("30s on: the denial asked again", 3, 3)

	*now = (*now).Add(kubeauth.TokenTTL - kubeauth.DeniedTTL)
	status(t, h, http.MethodGet, "/metrics", reader)
	status(t, h, http.MethodGet, "/metrics", "not-a-token")
	want("1m on: both tokens reviewed again", 5, 3)

	*now = (*now).Add(kubeauth.AllowedTTL - kubeauth.TokenTTL)
	status(t, h, http.MethodGet, "/metrics", reader)
	want("5m on: the token and the access reviewed again", 6, 4)
}

// TestLongRequestsAreNotKept: a decision on a request whose verb and path pass
// MaxKeptRequest bytes is not kept (a token allowed nothing must not fill the cache with
// megabyte paths), yet the request is reviewed, each time, and answered right: denied on
// /podscrape/..., allowed on /api/..., which Kubernetes' system:discovery grants every
// authenticated user.
func TestLongRequestsAreNotKept(t *testing.T) {
	f, reviews, _ := clockedFilter(t)
	h := f.Wrap(ok)
	anyone := token(t, "long", "anyone") // no role of its own
	// path is prefix padded so that "get" and it make n bytes.
	path := func(prefix string, n int) string { return prefix + strings.Repeat("a", n-len("get")-len(prefix)) }
	for _, tc := range []struct {
		name string
		path string
		want int
		kept bool
	}{
		{"denied, at the bound", path("/podscrape/", kubeauth.MaxKeptRequest), http.StatusForbidden, true},
		{"denied, a byte past it", path("/podscrape/", kubeauth.MaxKeptRequest+1), http.StatusForbidden, false},
		{"denied, 900 KiB", path("/podscrape/", 900<<10), http.StatusForbidden, false},
		{"allowed, at the bound", path("/api/", kubeauth.MaxKeptRequest), http.StatusOK, true},
		{"allowed, a byte past it", path("/api/", kubeauth.MaxKeptRequest+1), http.StatusOK, false},
		{"allowed, 900 KiB", path("/api/", 900<<10), http.StatusOK, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			accessReviews, kept := reviews("subjectaccessreviews"), f.KeptDecisions()
			for range 2 {
				if got := status(t, h, http.MethodGet, tc.path, anyone); got != tc.want {
					t.Fatalf("GET %d bytes: %d, want %d", len(tc.path), got, tc.want)
				}
			}
			wantReviews, wantKept := 2, 0
			if tc.kept {
				wantReviews, wantKept = 1, 1
			}
			if got := reviews("subjectaccessreviews") - accessReviews; got != wantReviews {
				t.Errorf("two requests: %d SubjectAccessReviews, want %d", got, wantReviews)
			}
			if got := f.KeptDecisions() - kept; got != wantKept {
				t.Errorf("%d decisions kept, want %d", got, wantKept)
			}
		})
	}
}

// TestReviewThatFailsIs500AndNotKept: a filter whose own identity may not create reviews
// answers 500 (never 401, which a client reads as its own fault, nor a pass), and asks
// again on the next request, which succeeds once the identity is granted.
func TestReviewThatFailsIs500AndNotKept(t *testing.T) {
	unprivileged, err := cp.AddUser("kubeauth-unprivileged")
	if err != nil {
		t.Fatal(err)
	}
	var logged syncBuffer
	f, err := kubeauth.New(unprivileged, funcr.New(func(prefix, args string) { fmt.Fprintln(&logged, prefix, args) }, funcr.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	h := f.Wrap(ok)
	reader := token(t, "fail", "reader")
	grantMetrics(t, "fail", "reader")
	if got := status(t, h, http.MethodGet, "/metrics", reader); got != http.StatusInternalServerError {
		t.Fatalf("without create on tokenreviews: %d, want 500", got)
	}
	// The client is told nothing of why; the server's log says it.
	if out := logged.String(); !strings.Contains(out, "TokenReview failed") || !strings.Contains(out, "tokenreviews") {
		t.Errorf("log %q: want the failed TokenReview and the API server's reason", out)
	}

	ctx := t.Context()
	role := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "kubeauth-reviewer"},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{"authentication.k8s.io"}, Resources: []string{"tokenreviews"}, Verbs: []string{"create"}},
		},
	}
	if err := cp.Client.Create(ctx, role); err != nil {
		t.Fatal(err)
	}
	if err := cp.Client.Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "kubeauth-reviewer"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "kubeauth-unprivileged"}},
	}); err != nil {
		t.Fatal(err)
	}
	reviewer, err := authenticationclient.NewForConfig(unprivileged)
	if err != nil {
		t.Fatal(err)
	}
	// RBAC takes effect once the API server's informer has the binding: poll until the
	// filter's own TokenReview goes through.
	eventually(t, "the tokenreviews grant", func() bool {
		_, err := reviewer.TokenReviews().Create(ctx, &authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: reader}}, metav1.CreateOptions{})
		return err == nil
	})
	if got := status(t, h, http.MethodGet, "/metrics", reader); got != http.StatusInternalServerError {
		t.Fatalf("granted tokenreviews only, the access review still fails: %d, want 500", got)
	}

	role.Rules = append(role.Rules, rbacv1.PolicyRule{APIGroups: []string{"authorization.k8s.io"}, Resources: []string{"subjectaccessreviews"}, Verbs: []string{"create"}})
	if err := cp.Client.Update(ctx, role); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a pass once both reviews are granted (a failed review must not be kept)", func() bool {
		return status(t, h, http.MethodGet, "/metrics", reader) == http.StatusOK
	})
}

// TestClientGoneIsNoError: a client that goes away during the review is not a failure of
// the server's: nothing is logged.
func TestClientGoneIsNoError(t *testing.T) {
	var logged syncBuffer
	f, err := kubeauth.New(cp.Config, funcr.New(func(prefix, args string) { fmt.Fprintln(&logged, prefix, args) }, funcr.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	reader := token(t, "gone", "reader")
	h := f.Wrap(ok)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	gone := func(path string) {
		req := httptest.NewRequestWithContext(ctx, http.MethodGet, path, nil)
		req.Header.Set("Authorization", "Bearer "+reader)
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
	gone("/metrics") // during the TokenReview
	if out := logged.String(); out != "" {
		t.Errorf("logged %q for a client that went away during the TokenReview", out)
	}
	if got := status(t, h, http.MethodGet, "/metrics", reader); got != http.StatusForbidden {
		t.Fatalf("a live request: %d, want 403 (no role granted)", got) // the token's review now kept
	}
	gone("/other") // during the SubjectAccessReview of a path not asked yet
	if out := logged.String(); out != "" {
		t.Errorf("logged %q for a client that went away during the SubjectAccessReview", out)
	}
}

// eventually polls cond until it holds or 10s have passed.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10s", what)
		}
		time.Sleep(10 * time.Millisecond) // polling with a deadline, not waiting for an outcome
	}
}

// TestTokenNeverLogged: client-go logs request bodies at V(8), and a TokenReview's body is
// the token; with client-go's logging at its most verbose, the token is nowhere in it.
func TestTokenNeverLogged(t *testing.T) {
	var logged syncBuffer
	fs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(fs)
	for name, value := range map[string]string{"v": "10", "logtostderr": "false", "alsologtostderr": "false", "stderrthreshold": "FATAL"} {
		if err := fs.Set(name, value); err != nil {
			t.Fatal(err)
		}
	}
	klog.SetOutput(&logged)
	t.Cleanup(func() {
		_ = fs.Set("v", "0")
		_ = fs.Set("logtostderr", "true")
		klog.SetOutput(io.Discard)
	})

	f, err := kubeauth.New(cp.Config, logr.Discard())
	if err != nil {
		t.Fatal(err)
	}
	reader := token(t, "logs", "reader")
	grantMetrics(t, "logs", "reader")
	if got := status(t, f.Wrap(ok), http.MethodGet, "/metrics", reader); got != http.StatusOK {
		t.Fatalf("reader: %d", got)
	}
	klog.Flush()
	out := logged.String()
	if !strings.Contains(out, "subjectaccessreviews") {
		t.Fatalf("client-go logged no review request at -v=10 (%d bytes): this test proves nothing", len(out))
	}
	// Protobuf bodies are logged as hex dumps, 16 characters of text a line: look for any
	// 12 characters of the token in a row.
	for i := 0; i+12 <= len(reader); i++ {
		if strings.Contains(out, reader[i:i+12]) {
			t.Fatalf("the token is in client-go's log (its characters %d-%d)", i, i+12)
		}
	}
}

// syncBuffer is a bytes.Buffer safe for klog's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
