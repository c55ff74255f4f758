package kubeauth_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/go-logr/logr"

	"github.com/podscrape/podscrape/internal/kubeauth"
)

// TestOversizedTokenIsRefusedUnreviewed: a Bearer token longer than any a client sends
// (16 KiB: a ServiceAccount's is about 1 KiB, an OIDC token with many groups some 10, and
// nginx's default buffers refuse a header line past 8) is 401 without a TokenReview.
// Before, anyone reaching the port could send tokens of up to the header bound (128 KiB),
// each new one a review: the token held twice (the header, the review's body) while up
// to 10 s of reviews queued at 200 a second, 2,400 at once over HTTP/2's streams (some
// 600 MB by that count, past deploy/'s 512Mi), and 25 MB a second of reviews sent on to
// the API server.
func TestOversizedTokenIsRefusedUnreviewed(t *testing.T) {
	cfg, reviews := counted(cp.Config)
	f, err := kubeauth.New(cfg, logr.Discard())
	if err != nil {
		t.Fatal(err)
	}
	h := f.Wrap(ok)
	if got := status(t, h, http.MethodGet, "/metrics", strings.Repeat("a", kubeauth.MaxTokenBytes+1)); got != http.StatusUnauthorized {
		t.Errorf("a token of %d bytes: %d, want 401", kubeauth.MaxTokenBytes+1, got)
	}
	if n := reviews("tokenreviews"); n != 0 {
		t.Errorf("a token of %d bytes: %d TokenReviews, want none", kubeauth.MaxTokenBytes+1, n)
	}
	// At the bound, a token is still reviewed (rejected: the API server did not issue it).
	if got := status(t, h, http.MethodGet, "/metrics", strings.Repeat("a", kubeauth.MaxTokenBytes)); got != http.StatusUnauthorized {
		t.Errorf("a made-up token of %d bytes: %d, want 401", kubeauth.MaxTokenBytes, got)
	}
	if n := reviews("tokenreviews"); n != 1 {
		t.Errorf("a token of %d bytes: %d TokenReviews, want 1", kubeauth.MaxTokenBytes, n)
	}
}
