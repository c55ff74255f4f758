package podscrapetest_test

import (
	"context"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/podscrape/podscrape/internal/leakcheck"
	"github.com/podscrape/podscrape/podscrapetest"
)

// TestCloseWaitsForRunningHandlers: as httptest.Server.Close does, Service.Close returns
// only once no pod handler is running, so a handler never touches a test's state after
// the test closed the Service (a t.Log or a write there would fail or race). Close ends
// the pods' connections first, so a handler that watches its request's context ends.
func TestCloseWaitsForRunningHandlers(t *testing.T) {
	ctx := context.Background()
	entered, connClosed, release := make(chan struct{}), make(chan struct{}), make(chan struct{})
	var running atomic.Int32
	svc, err := env.NewService(ctx, podscrapetest.ServiceOptions{Pods: 1, Handler: http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		running.Add(1)
		defer running.Add(-1)
		close(entered)
		<-r.Context().Done() // Close ended the connection
		close(connClosed)
		<-release
	})})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		if resp, err := http.Get(svc.Pods()[0].URL() + "/metrics"); err == nil {
			resp.Body.Close()
		}
	}()
	<-entered
	closed := make(chan error, 1)
	go func() { closed <- svc.Close() }()
	<-connClosed
	// The handler is still running and stays so until released: Close must not return.
	// A broken Close returns within milliseconds of ending the connection; the window
	// only bounds how long a correct one is watched.
	select {
	case err := <-closed:
		close(release)
		t.Fatalf("Close returned (%v) while a pod's handler was still running", err)
	case <-time.After(time.Second):
	}
	close(release)
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if n := running.Load(); n != 0 {
		t.Errorf("after Close: %d handlers running, want 0", n)
	}
}

// TestClosedServicesLeaveNothingOpen: a suite making a Service per test for hundreds of
// tests. Services whose pods were scraped over kept-alive connections, closed, leave no
// listener, connection or goroutine: the counts are back to what they were before.
func TestClosedServicesLeaveNothingOpen(t *testing.T) {
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	base := leakcheck.Take()
	for range 5 {
		svc, err := env.NewService(t.Context(), podscrapetest.ServiceOptions{Pods: 3, Body: "m 1\n"})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range svc.Pods() {
			resp, err := client.Get(p.URL() + "/metrics")
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close() // the connection stays open, idle
		}
		if err := svc.Close(); err != nil {
			t.Fatal(err)
		}
	}
	leakcheck.Back(t, base, 5, 10*time.Second)
}
