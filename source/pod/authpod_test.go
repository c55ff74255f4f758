package pod

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
)

// authPod is one Ready pod behind a Service of a namespace of its own that answers its
// exposition only to "Bearer <token>", and the status it is set to (401 unless set)
// otherwise. It records the Authorization header of every request.
type authPod struct {
	token  string
	status int

	mu   sync.Mutex // protects seen
	seen []string
}

func (p *authPod) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	auth := r.Header.Get("Authorization")
	p.mu.Lock()
	p.seen = append(p.seen, auth)
	p.mu.Unlock()
	if auth != "Bearer "+p.token {
		http.Error(w, http.StatusText(p.status), p.status)
		return
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	_, _ = fmt.Fprint(w, "m 5\n")
}

// requests returns the Authorization header of each request the pod got ("" for none).
func (p *authPod) requests() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.seen...)
}

// startAuthPod starts a pod accepting token, answering status to other requests, and
// returns it with a source config for its Service (no auth set).
func startAuthPod(t *testing.T, token string, status int) (*authPod, PodScrapingSourceConfig) {
	t.Helper()
	p := &authPod{token: token, status: status}
	return p, startHandlerPod(t, p)
}
