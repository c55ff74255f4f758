package serve_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/podscrape/podscrape/internal/leakcheck"
	"github.com/podscrape/podscrape/serve"
)

// TestClosedServersLeaveNothingRunning: a controller rebuilding its Server on every
// config change, for months. Ten Servers, each running its scrape loops and answering
// --max-age queries, some of them waiting on a pod that never answers when the Server is
// shut down (its HTTP server closed, Run's context cancelled, Close), leave no goroutine,
// connection or file open: the counts are back to what they were before.
func TestClosedServersLeaveNothingRunning(t *testing.T) {
	fast := newService(t, "fast", 2, "# TYPE reqs counter\nreqs_total 3\nqueue 1\n")
	hung := newService(t, "hung", 1, "queue 2\n")
	hung.Pods()[0].SetHandler(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // answers nothing until the scraper gives up
	}))
	base := leakcheck.Take()

	client := &http.Client{Transport: &http.Transport{}}
	get := func(u string, params url.Values) {
		resp, err := client.Get(u + "/api/v1/query?" + params.Encode())
		if err != nil {
			return // the server closed under it: what is checked is what it left
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
	}
	for range 10 {
		cfg := serve.Config{Services: []serve.ServiceConfig{serviceConfig(fast), serviceConfig(hung)}, MaxAge: time.Millisecond, Interval: 50 * time.Millisecond}
		srv, err := serve.New(t.Context(), env.Client, cfg)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); _ = srv.Run(ctx) }()
		hs := httptest.NewServer(srv.Handler())

		// Queries answered, their scrapes given up after the query's timeout ...
		for range 3 {
			get(hs.URL, url.Values{"query": {"sum(rate(reqs_total[1m])) + sum(queue)"}, "timeout": {"0.1"}})
		}
		// ... and queries still waiting on the hung pod when the server goes.
		var inFlight sync.WaitGroup
		for range 5 {
			inFlight.Go(func() { get(hs.URL, url.Values{"query": {"sum(queue)"}}) })
		}
		deadline := time.Now().Add(30 * time.Second)
		for hung.Pods()[0].Requests() == 0 {
			if time.Now().After(deadline) {
				t.Fatal("the hung pod got no request within 30s")
			}
			time.Sleep(time.Millisecond) // polling the pod's requests, with a deadline
		}
		hs.CloseClientConnections()
		hs.Close()
		inFlight.Wait()
		cancel()
		<-done
		if err := srv.Close(); err != nil {
			t.Fatal(err)
		}
	}
	client.CloseIdleConnections()
	leakcheck.Back(t, base, 5, 10*time.Second)
}

// TestStoppedCachesLeaveNothingRunning: StartCache's informers, stopped, leave no
// reflector, watch or goroutine running (a controller rebuilding them on a config
// change). The first start makes the API client's connection, which client-go keeps for
// every client of the same config; the baseline is taken after it.
func TestStoppedCachesLeaveNothingRunning(t *testing.T) {
	svc := newService(t, "cached", 1, "queue 1\n")
	services := []serve.ServiceConfig{serviceConfig(svc)}
	start := func() {
		t.Helper()
		c, err := serve.StartCache(t.Context(), env.Config, services)
		if err != nil {
			t.Fatal(err)
		}
		c.Stop()
	}
	start()
	base := leakcheck.Take()
	for range 5 {
		start()
	}
	leakcheck.Back(t, base, 5, 10*time.Second)
}
