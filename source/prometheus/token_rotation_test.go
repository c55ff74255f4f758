package prometheus

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A token file rotated while a request is in flight: the server refuses the request
// quoting the token it got, and the error redacts that token, not the new one.
func TestTokenRotatedInFlightNotShown(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "token")
	write := func(token string) {
		tmp := filepath.Join(dir, "token.tmp")
		if err := os.WriteFile(tmp, []byte(token+"\n"), 0o600); err != nil {
			t.Error(err)
		}
		if err := os.Rename(tmp, path); err != nil { // as the kubelet rotates a projected token
			t.Error(err)
		}
	}
	const old, rotated = "old-t0ken-in-flight", "new-t0ken-after"
	write(old)
	srv := newAPIServer(t, func(w http.ResponseWriter, r *http.Request, _ string, _ int) {
		write(rotated) // the file changes before the answer comes back
		writeJSON(w, http.StatusUnauthorized, fmt.Sprintf(`{"status":"error","errorType":"unauthorized","error":%q}`, r.Header.Get("Authorization")))
	})
	cfg := fastConfig()
	cfg.QueryTimeout = 100 * 1e6 // 100ms of retries
	s := NewPrometheusSource(t.Context(), srv.api(t, ClientConfig{BearerTokenFile: path}), cfg)
	r := queryOnce(t, t.Context(), s)
	if r.Error == nil {
		t.Fatal("a refused query: got no error")
	}
	if got := srv.received()[0].header.Get("Authorization"); got != "Bearer "+old {
		t.Fatalf("first request: Authorization %q, want the token before the rotation", got)
	}
	if msg := r.Error.Error(); strings.Contains(msg, old) || strings.Contains(msg, rotated) {
		t.Errorf("the error shows a token: %s", msg)
	} else if !strings.Contains(msg, redacted) {
		t.Errorf("the error does not show the redacted header; the check proves nothing: %s", msg)
	}
}
