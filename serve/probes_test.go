package serve_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/podscrape/podscrape/serve"
)

// TestProbesAnswerWhileQueriesFillTheSlots: with every evaluation slot held (20 queries
// evaluating, 5 more waiting for a slot) /-/healthy and /-/ready still answer at once:
// they take no slot and wait on no scrape, so the kubelet neither restarts a busy serve
// nor takes it out of its Service.
func TestProbesAnswerWhileQueriesFillTheSlots(t *testing.T) {
	svc := newService(t, "vllm", 1, waiting)
	srv, base := runReadyServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}, Interval: 4 * time.Minute})

	evaluating := holdEverySlot(t, srv, base, 5)
	probe := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for _, path := range []string{"/-/healthy", "/-/ready"} {
		resp, err := probe.Get(base + path)
		if err != nil {
			t.Errorf("%s with every evaluation slot held: %v, want an answer within the kubelet's 1s", path, err)
			continue
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s with every evaluation slot held: %d, want 200", path, resp.StatusCode)
		}
	}
	if n := evaluating.Load(); n != serve.DefaultMaxConcurrentQueries {
		t.Errorf("%d queries evaluating, want the %d slots held", n, serve.DefaultMaxConcurrentQueries)
	}
}
