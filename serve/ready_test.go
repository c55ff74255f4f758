package serve_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/podscrape/podscrape/serve"
)

// TestReadyWaitsForEveryService: /-/ready stays 503 while one Service's first scrape is
// under way though another's is done, and turns 200 once both were scraped.
func TestReadyWaitsForEveryService(t *testing.T) {
	fast := newService(t, "epp", 1, "# TYPE epp_queue gauge\nepp_queue 1\n")
	slow := newService(t, "vllm", 1, waiting)
	release := make(chan struct{})
	slow.Pods()[0].SetHandler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		<-release
		_, _ = w.Write([]byte(waiting))
	}))
	srv, err := serve.New(t.Context(), env.Client, serve.Config{
		Services: []serve.ServiceConfig{serviceConfig(fast), serviceConfig(slow)}, Interval: 4 * time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Run(ctx) }()
	hs := httptest.NewServer(srv.Handler())
	released := false
	t.Cleanup(func() {
		if !released {
			close(release)
		}
		hs.Close()
		cancel()
		<-done
		if err := srv.Close(); err != nil {
			t.Error(err)
		}
	})
	status := func(path string) (int, []byte) {
		resp, err := http.Get(hs.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	// Wait until the fast Service's target is listed: its first scrape is done.
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, b := status("/api/v1/targets")
		var r struct {
			Data struct {
				ActiveTargets []struct{ ScrapePool string } `json:"activeTargets"`
			} `json:"data"`
		}
		if json.Unmarshal(b, &r) == nil && len(r.Data.ActiveTargets) > 0 {
			if got := r.Data.ActiveTargets[0].ScrapePool; got != fast.Namespace+"/epp" {
				t.Fatalf("first target of pool %s, want only the fast Service's", got)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the fast Service was not scraped in 30s: %s", b)
		}
		time.Sleep(10 * time.Millisecond) // polling the targets
	}
	if code, b := status("/-/ready"); code != http.StatusServiceUnavailable {
		t.Errorf("/-/ready with one of two Services scraped: %d %s, want 503", code, b)
	}
	close(release)
	released = true
	for {
		code, _ := status("/-/ready")
		if code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/-/ready: %d 30s after both Services could be scraped, want 200", code)
		}
		time.Sleep(10 * time.Millisecond) // polling readiness
	}
}
