package kubeauth_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/go-logr/logr"
	"k8s.io/client-go/rest"

	"github.com/podscrape/podscrape/internal/kubeauth"
)

// TestBadTokenFloodDoesNotLockOutTheReaders: anyone who reaches the port can send
// requests with made-up tokens, each of which costs a TokenReview. The review clients
// were client-go's defaults, 5 requests a second (a burst of 10): a hundred bad tokens at
// once queued the reviews for 18 s, past the 10 s review bound, so the later ones, and
// the reader's own, were answered 500 ("rate: Wait would exceed context deadline"), and
// a few bad requests a second kept every client whose token was not cached out. The
// reviews are sent as k8s.io/apiserver's delegated authentication and authorization send
// theirs, at 200 a second (a burst of 400): the API server's own priority and fairness
// bounds them.
func TestBadTokenFloodDoesNotLockOutTheReaders(t *testing.T) {
	// The config as serve has it from a kubeconfig or in a pod: no QPS set (envtest's
	// sets 1000).
	cfg := rest.CopyConfig(cp.Config)
	cfg.QPS, cfg.Burst = 0, 0
	f, err := kubeauth.New(cfg, logr.Discard())
	if err != nil {
		t.Fatal(err)
	}
	h := f.Wrap(ok)
	reader := token(t, "flood", "reader")
	grantMetrics(t, "flood", "reader")

	const bad = 100
	codes := make([]int, bad)
	var wg sync.WaitGroup
	for i := range bad {
		wg.Go(func() { codes[i] = status(t, h, http.MethodGet, "/metrics", fmt.Sprintf("made-up-token-%d", i)) })
	}
	readerCode := status(t, h, http.MethodGet, "/metrics", reader)
	wg.Wait()
	got := map[int]int{}
	for _, c := range codes {
		got[c]++
	}
	if got[http.StatusUnauthorized] != bad {
		t.Errorf("%d made-up tokens at once: answered %v; want every one 401", bad, got)
	}
	if readerCode != http.StatusOK {
		t.Errorf("the reader, during the flood: %d, want 200", readerCode)
	}
}
