package e2e

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"
)

// inflight counts the requests being served across servers and keeps the peak.
type inflight struct {
	mu       sync.Mutex // protects now, peak
	cond     *sync.Cond
	now      int
	peak     int
	release  int // a request waits until this many are in flight (or a deadline passes)
	gen      int // bumped each time release requests are in flight together
	requests int
}

func newInflight(release int) *inflight {
	in := &inflight{release: release}
	in.cond = sync.NewCond(&in.mu)
	return in
}

// handler serves body after holding the request until release requests are in flight
// together, so a scraper that allows release concurrent scrapes reaches exactly that.
func (in *inflight) handler(body []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in.mu.Lock()
		in.now++
		in.requests++
		in.peak = max(in.peak, in.now)
		if in.now >= in.release {
			in.gen++
			in.cond.Broadcast()
		}
		gen := in.gen
		deadline := time.Now().Add(3 * time.Second)
		for in.gen == gen && in.now < in.release && time.Now().Before(deadline) && r.Context().Err() == nil {
			waitWithDeadline(in.cond, deadline)
		}
		in.now--
		in.mu.Unlock()
		w.Header().Set("Content-Type", textFormat)
		_, _ = w.Write(body)
	})
}

// waitWithDeadline waits on c (whose lock is held) until a Broadcast or the deadline.
func waitWithDeadline(c *sync.Cond, deadline time.Time) {
	t := time.AfterFunc(time.Until(deadline), func() {
		c.L.Lock()
		c.Broadcast()
		c.L.Unlock()
	})
	c.Wait()
	t.Stop()
}

func TestConcurrencyCapHoldsAcrossPods(t *testing.T) {
	t.Parallel()
	const pods, limit = 12, 3
	in := newInflight(limit)
	defs := make([]podDef, pods)
	for i := range defs {
		defs[i] = podDef{name: fmt.Sprintf("pod-%02d", i), handler: in.handler([]byte("m 1\n"))}
	}
	f := startService(t, defs...)
	cfg := f.config()
	cfg.MaxConcurrentScrapes = limit
	r := mustRefresh(t, newSource(t, cfg))
	if r.Error != nil {
		t.Fatal(r.Error)
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.requests != pods {
		t.Fatalf("requests: got %d, want %d", in.requests, pods)
	}
	if in.peak != limit {
		t.Fatalf("peak requests in flight: got %d, want %d", in.peak, limit)
	}
}
