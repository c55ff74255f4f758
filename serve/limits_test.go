package serve_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/podscrape/podscrape/serve"
)

// TestConcurrentQueriesAreBounded: a burst of queries is evaluated MaxConcurrentQueries
// at a time, as Prometheus' --query.max-concurrency bounds it (20): with every slot held,
// one more query waits for a slot and, past its timeout, answers 503 timeout, never
// evaluated. Unbounded, each query of a burst loads its samples at once and the process
// runs out of memory.
func TestConcurrentQueriesAreBounded(t *testing.T) {
	svc := newService(t, "vllm", 1, waiting)
	srv, err := serve.New(t.Context(), env.Client, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}, Interval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Run(ctx) }()
	hs := httptest.NewServer(srv.Handler())
	defer func() { hs.Close(); cancel(); <-done; _ = srv.Close() }()
	deadline := time.Now().Add(30 * time.Second)
	for !srv.Ready() {
		if time.Now().After(deadline) {
			t.Fatal("not ready after 30s")
		}
		time.Sleep(10 * time.Millisecond) // polling readiness
	}

	var evaluating atomic.Int32
	entered := make(chan struct{}, 2*serve.MaxConcurrentQueries)
	release := make(chan struct{})
	serve.SetOnQuerier(srv, func() {
		if evaluating.Add(1) > serve.MaxConcurrentQueries {
			return // past the bound: not held, so that the test fails rather than hangs
		}
		entered <- struct{}{}
		<-release
	})
	var wg sync.WaitGroup
	codes := make(chan int, serve.MaxConcurrentQueries)
	for range serve.MaxConcurrentQueries {
		wg.Go(func() {
			code, _ := query(t, hs.URL, "vllm:num_requests_waiting")
			codes <- code
		})
	}
	defer func() {
		close(release)
		wg.Wait()
		close(codes)
		for code := range codes {
			if code != http.StatusOK {
				t.Errorf("a held query answered %d once released, want 200", code)
			}
		}
	}()
	timeout := time.After(30 * time.Second)
	for range serve.MaxConcurrentQueries {
		select {
		case <-entered:
		case <-timeout:
			t.Fatalf("%d queries evaluating after 30s, want %d", evaluating.Load(), serve.MaxConcurrentQueries)
		}
	}

	code, r := call(t, http.MethodGet, hs.URL, "/api/v1/query", url.Values{"query": {"vllm:num_requests_waiting"}, "timeout": {"200ms"}})
	if code != http.StatusServiceUnavailable || r.ErrorType != "timeout" {
		t.Errorf("query %d with every slot held: %d %s %q, want 503 timeout", serve.MaxConcurrentQueries+1, code, r.ErrorType, r.Error)
	}
	if n := evaluating.Load(); n != serve.MaxConcurrentQueries {
		t.Errorf("%d queries evaluated at once, want at most %d", n, serve.MaxConcurrentQueries)
	}
}
