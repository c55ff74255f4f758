package kubeauth_test

import (
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/go-logr/logr"
	"k8s.io/client-go/rest"

	"github.com/podscrape/podscrape/internal/kubeauth"
)

// TestMomentaryFailureIsRetried: a review whose connection is reset (an API server that
// restarts behind its load balancer) is sent again, as controller-runtime's filter sends
// it: the client gets the reviews' answer, not a 500. The first try of each review fails
// so; the second reaches the real API server.
func TestMomentaryFailureIsRetried(t *testing.T) {
	cfg := rest.CopyConfig(cp.Config)
	var mu sync.Mutex
	tries := map[string]int{}
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return roundTripper(func(r *http.Request) (*http.Response, error) {
			resource := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
			mu.Lock()
			tries[resource]++
			first := tries[resource] == 1
			mu.Unlock()
			if first {
				if r.Body != nil {
					_ = r.Body.Close()
				}
				return nil, &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}
			}
			return rt.RoundTrip(r)
		})
	})
	f, err := kubeauth.New(cfg, logr.Discard())
	if err != nil {
		t.Fatal(err)
	}
	reader := token(t, "retry", "reader")
	grantMetrics(t, "retry", "reader")
	if got := status(t, f.Wrap(ok), http.MethodGet, "/metrics", reader); got != http.StatusOK {
		t.Fatalf("each review's first connection reset: %d, want 200 (tried again)", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if tries["tokenreviews"] != 2 || tries["subjectaccessreviews"] != 2 {
		t.Errorf("tries %v: want each review sent twice", tries)
	}
}
