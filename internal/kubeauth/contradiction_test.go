package kubeauth

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr/funcr"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	authenticationclient "k8s.io/client-go/kubernetes/typed/authentication/v1"
	authorizationclient "k8s.io/client-go/kubernetes/typed/authorization/v1"
)

// The real API server never answers a SubjectAccessReview both allowed and denied; a
// broken authorizer chain behind it could. These fakes stand in for it: each answers
// every review with a fixed status.
var (
	_ authenticationclient.TokenReviewInterface        = acceptingTokens{}
	_ authorizationclient.SubjectAccessReviewInterface = (*answeringAccess)(nil)
)

// acceptingTokens authenticates every token as one ServiceAccount.
type acceptingTokens struct{}

func (acceptingTokens) Create(_ context.Context, r *authenticationv1.TokenReview, _ metav1.CreateOptions) (*authenticationv1.TokenReview, error) {
	out := r.DeepCopy()
	out.Status = authenticationv1.TokenReviewStatus{Authenticated: true, User: authenticationv1.UserInfo{Username: "system:serviceaccount:ns:sa"}}
	return out, nil
}

// answeringAccess answers every SubjectAccessReview with status, and counts them.
type answeringAccess struct {
	status  authorizationv1.SubjectAccessReviewStatus
	reviews int
}

func (a *answeringAccess) Create(_ context.Context, r *authorizationv1.SubjectAccessReview, _ metav1.CreateOptions) (*authorizationv1.SubjectAccessReview, error) {
	a.reviews++
	out := r.DeepCopy()
	out.Status = a.status
	return out, nil
}

// TestAllowedAndDeniedIsAnError: a SubjectAccessReview answered both allowed and denied
// is a failed review: 500 (never a pass), logged, and not kept.
func TestAllowedAndDeniedIsAnError(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status authorizationv1.SubjectAccessReviewStatus
		want   int
		kept   bool
	}{
		{"allowed", authorizationv1.SubjectAccessReviewStatus{Allowed: true}, http.StatusOK, true},
		{"denied", authorizationv1.SubjectAccessReviewStatus{Denied: true}, http.StatusForbidden, true},
		{"no opinion", authorizationv1.SubjectAccessReviewStatus{}, http.StatusForbidden, true},
		{"allowed and denied", authorizationv1.SubjectAccessReviewStatus{Allowed: true, Denied: true, Reason: "two authorizers"}, http.StatusInternalServerError, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logged strings.Builder
			access := &answeringAccess{status: tc.status}
			f := &Filter{
				tokens: acceptingTokens{},
				access: access,
				log:    funcr.New(func(prefix, args string) { logged.WriteString(prefix + args + "\n") }, funcr.Options{}),
				now:    time.Now,
			}
			h := f.Wrap(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("data")) }))
			for range 2 {
				req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/podscrape/api/v1/query", nil)
				req.Header.Set("Authorization", "Bearer t")
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != tc.want {
					t.Fatalf("got %d %q, want %d", w.Code, w.Body.String(), tc.want)
				}
			}
			wantReviews := 2
			if tc.kept {
				wantReviews = 1
			}
			if access.reviews != wantReviews {
				t.Errorf("two requests: got %d SubjectAccessReviews, want %d", access.reviews, wantReviews)
			}
			if got, want := strings.Contains(logged.String(), "both allowed and denied"), !tc.kept; got != want {
				t.Errorf("log %q: the contradiction in it: got %v, want %v", logged.String(), got, want)
			}
		})
	}
}
