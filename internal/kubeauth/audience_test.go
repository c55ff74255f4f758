package kubeauth

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-logr/logr"
	authorizationv1 "k8s.io/api/authorization/v1"
)

// TestAudiencesNeedTheStatusToNameOne: with audiences, a TokenReview that authenticates
// the token but names no audience in its status (an authenticator behind the API server
// that does not check audiences: the token is then one of the API server's own, as the
// TokenReview API documents) is refused, 401. The real API server's ServiceAccount
// authenticator always names them (serve's TestKubernetesAuthTokenAudiences); this fake
// stands in for the other kind.
func TestAudiencesNeedTheStatusToNameOne(t *testing.T) {
	for _, tc := range []struct {
		name      string
		audiences []string
		want      int
	}{
		{"no audiences asked", nil, http.StatusOK},
		{"audiences asked, none answered", []string{"podscrape"}, http.StatusUnauthorized},
	} {
		f := &Filter{
			tokens:    acceptingTokens{},
			access:    &answeringAccess{status: authorizationv1.SubjectAccessReviewStatus{Allowed: true}},
			log:       logr.Discard(),
			now:       time.Now,
			audiences: tc.audiences,
		}
		req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/podscrape/api/v1/query", nil)
		req.Header.Set("Authorization", "Bearer t")
		w := httptest.NewRecorder()
		f.Wrap(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})).ServeHTTP(w, req)
		if w.Code != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, w.Code, tc.want)
		}
	}
}

// TestTokenKeyNamesTheAudiences: a token's cached answer is kept under a key of the
// audiences it was reviewed for too.
func TestTokenKeyNamesTheAudiences(t *testing.T) {
	keys := map[[32]byte]string{}
	for name, auds := range map[string][]string{"none": nil, "a": {"a"}, "b": {"b"}, "a,b": {"a", "b"}, "ab": {"ab"}} {
		k := (&Filter{audiences: auds}).tokenKey("t")
		if other, ok := keys[k]; ok {
			t.Errorf("audiences %s and %s: the same key", name, other)
		}
		keys[k] = name
	}
}
