package podscrapetest_test

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

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
