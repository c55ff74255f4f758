package serve_test

import (
	"io"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
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

	var evaluating atomic.Int32
	entered := make(chan struct{}, 2*serve.DefaultMaxConcurrentQueries)
	release := make(chan struct{})
	serve.SetOnQuerier(srv, func() {
		evaluating.Add(1)
		entered <- struct{}{}
		<-release
	})
	var wg sync.WaitGroup
	defer func() {
		close(release)
		wg.Wait()
	}()
	for range serve.DefaultMaxConcurrentQueries + 5 {
		wg.Go(func() {
			resp, err := http.Get(base + "/api/v1/query?" + url.Values{"query": {"vllm:num_requests_waiting"}}.Encode())
			if err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
	timeout := time.After(30 * time.Second)
	for range serve.DefaultMaxConcurrentQueries {
		select {
		case <-entered:
		case <-timeout:
			t.Fatalf("%d queries evaluating after 30s, want %d", evaluating.Load(), serve.DefaultMaxConcurrentQueries)
		}
	}
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
