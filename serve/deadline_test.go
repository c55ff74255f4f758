package serve_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/podscrape/podscrape/serve"
)

// TestAKEDAPollIsAnsweredWithinItsHTTPTimeout: KEDA asks with timeout=2s and gives up
// after 3 s, its HTTP client's timeout. Under --max-age a hung pod holds the scrape the
// query waits for until the pod's scrape timeout (5 s), and the engine's slots may all
// be taken: the request's timeout bounds the wait for the scrape, the queue for a slot
// and the evaluation together, from the request's arrival, as Prometheus' query timeout
// bounds its queue and evaluation. So KEDA reads serve's answer within its 3 s: the
// latest scrape's, with the warning naming the late Service, when a slot is free; 503
// timeout when none frees in time. Applied once to the wait and again to the queue, the
// timeout took 4 s, and KEDA logged a client timeout instead.
func TestAKEDAPollIsAnsweredWithinItsHTTPTimeout(t *testing.T) {
	svc := newService(t, "vllm", 2, waiting)
	srv, base := runReadyServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}, MaxAge: time.Nanosecond, Interval: time.Hour})
	var hanging atomic.Bool
	released := make(chan struct{})
	t.Cleanup(func() { close(released) })
	svc.Pods()[1].SetHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hanging.Load() {
			select { // a hung pod: it answers nothing until the scraper gives up
			case <-r.Context().Done():
			case <-released:
			}
			return
		}
		_, _ = io.WriteString(w, waiting)
	}))
	keda := &http.Client{Timeout: 3 * time.Second}
	poll := func(what string) (int, apiResponse, bool) {
		t.Helper()
		asked := time.Now()
		resp, err := keda.Get(base + "/api/v1/query?" + url.Values{"query": {"sum(vllm:num_requests_waiting)"}, "time": {time.Now().UTC().Format(time.RFC3339)}, "timeout": {"2s"}}.Encode())
		if err != nil {
			t.Errorf("%s: KEDA's poll (timeout=2s, 3 s HTTP timeout): %v after %s, want serve's answer within 3 s", what, err, time.Since(asked).Round(time.Millisecond))
			return 0, apiResponse{}, false
		}
		defer resp.Body.Close()
		var r apiResponse
		if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
			t.Errorf("%s: body: %v", what, err)
			return 0, apiResponse{}, false
		}
		return resp.StatusCode, r, true
	}

	// Every slot free: the answer of the latest scrape, with the late Service's warning.
	hanging.Store(true)
	if code, r, ok := poll("slots free"); ok {
		late := "service " + svc.Namespace + "/" + svc.Name + ": the scrape --max-age asked for did not finish within the query's timeout of 2s, less the 500ms kept to answer: answered from its scrape at "
		if v := vector(t, r); code != http.StatusOK || len(v) != 1 || v[0].Value[1] != "6" || len(r.Warnings) != 1 || !strings.HasPrefix(r.Warnings[0], late) {
			t.Errorf("slots free: got %d %q %s, warnings %q; want 200, the latest scrape's 6, and one warning starting %q", code, r.Error, r.Data, r.Warnings, late)
		}
	}

	// Every slot held by queries that scraped while the pod answered: the wait for the
	// hung pod and the queue share the 2 s.
	hanging.Store(false)
	holdEverySlot(t, srv, base, 0)
	hanging.Store(true)
	if code, r, ok := poll("every slot held"); ok && (code != http.StatusServiceUnavailable || r.ErrorType != "timeout") {
		t.Errorf("every slot held: got %d %s %q, want 503 timeout", code, r.ErrorType, r.Error)
	}
}

// TestAClientThatLeavesStopsOnlyItsShare: a client that disconnects while its query
// waits for a --max-age scrape leaves that scrape at once. A scrape no other query waits
// for is stopped (the pod's request is cancelled); one another query waits for goes on
// for it, which gets its fresh answer.
func TestAClientThatLeavesStopsOnlyItsShare(t *testing.T) {
	svc := newService(t, "vllm", 1, waiting)
	srv, base := runReadyServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}, MaxAge: time.Nanosecond, Interval: time.Hour})
	slow := make(chan struct{})
	cancelled := make(chan struct{}, 10)
	var slowClosed atomic.Bool
	t.Cleanup(func() {
		if slowClosed.CompareAndSwap(false, true) {
			close(slow)
		}
	})
	svc.Pods()[0].SetHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-slow:
		case <-r.Context().Done():
			cancelled <- struct{}{}
			return
		}
		_, _ = io.WriteString(w, "# TYPE vllm:num_requests_waiting gauge\nvllm:num_requests_waiting 9\n")
	}))
	type result struct {
		code int
		r    apiResponse
		err  error
	}
	ask := func(ctx context.Context) chan result {
		out := make(chan result, 1)
		go func() {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/query?"+url.Values{"query": {"sum(vllm:num_requests_waiting)"}}.Encode(), nil)
			if err != nil {
				out <- result{err: err}
				return
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				out <- result{err: err}
				return
			}
			defer resp.Body.Close()
			var r apiResponse
			err = json.NewDecoder(resp.Body).Decode(&r)
			out <- result{resp.StatusCode, r, err}
		}()
		return out
	}
	waiters := func(want int) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			if running, next := serve.ScrapesWaiting(srv, 0); running+next == want {
				return
			}
			if time.Now().After(deadline) {
				running, next := serve.ScrapesWaiting(srv, 0)
				t.Fatalf("%d queries waiting on the scrapes after 30s, want %d", running+next, want)
			}
			time.Sleep(5 * time.Millisecond) // polling the server's state
		}
	}

	// a's scrape is under way; b and c wait for the next, which covers both.
	ctxA, leaveA := context.WithCancel(context.Background())
	defer leaveA()
	a := ask(ctxA)
	waiters(1)
	b := ask(context.Background())
	waiters(2)
	ctxC, leaveC := context.WithCancel(context.Background())
	c := ask(ctxC)
	waiters(3)

	// c leaves: the next scrape is still b's.
	leaveC()
	if got := <-c; !errors.Is(got.err, context.Canceled) {
		t.Errorf("the client that left: %v, want its own cancellation", got.err)
	}
	waiters(2)
	// a leaves: no one else waits for its scrape, whose pod request is cancelled at once;
	// b's scrape starts.
	leaveA()
	if got := <-a; !errors.Is(got.err, context.Canceled) {
		t.Errorf("the client that left: %v, want its own cancellation", got.err)
	}
	select {
	case <-cancelled:
	case <-time.After(30 * time.Second):
		t.Fatal("the scrape of a query whose client left, the only one waiting for it, still holds the pod after 30s")
	}
	waiters(1)

	slowClosed.Store(true)
	close(slow)
	got := <-b
	if got.err != nil {
		t.Fatal(got.err)
	}
	if v := vector(t, got.r); got.code != http.StatusOK || len(v) != 1 || v[0].Value[1] != "9" || len(got.r.Warnings) != 0 {
		t.Errorf("the query that stayed: got %d %q %s, warnings %q; want 200 and the scrape's fresh 9", got.code, got.r.Error, got.r.Data, got.r.Warnings)
	}
}

// TestALateScrapeOlderThanTheLookbackIsNotAnEmptyAnswer: under a --max-age shorter than an
// interval longer than the lookback delta (accepted: queries scrape), a pod hangs, so no
// query's scrape finishes within its wait (each is cancelled as its query leaves) and
// the latest scrape, the interval's, grows older than the lookback delta. A query at now
// answered from it reads no sample of the Service: it answered 200 [] with the late
// warning alone, KEDA's 0 for a loaded Service. Nothing within the lookback to answer
// from is 503, naming the Service.
func TestALateScrapeOlderThanTheLookbackIsNotAnEmptyAnswer(t *testing.T) {
	svc := newService(t, "vllm", 2, waiting)
	cfg := serviceConfig(svc)
	cfg.Source.ScrapeTimeout = time.Second
	srv, err := serve.New(t.Context(), env.Client, serve.Config{Services: []serve.ServiceConfig{cfg},
		MaxAge: 100 * time.Millisecond, Interval: time.Hour, LookbackDelta: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	// Its latest scrape, the interval's, 10 s ago: older than the lookback delta. No loop
	// runs, so it stays the latest.
	if err := serve.ScrapeAt(t.Context(), srv, 0, time.Now().Add(-10*time.Second)); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	released := make(chan struct{})
	t.Cleanup(func() { close(released) })
	svc.Pods()[1].SetHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select { // a hung pod: it answers nothing until the scraper gives up
		case <-r.Context().Done():
		case <-released:
		}
	}))
	code, r := call(t, http.MethodGet, hs.URL, "/api/v1/query", url.Values{"query": {"sum(vllm:num_requests_waiting)"}, "timeout": {"200ms"}})
	if code == http.StatusOK && len(vector(t, r)) == 0 {
		t.Fatalf("the latest scrape older than the lookback delta: got 200 %s with warnings %q, want 503 naming the Service (KEDA reads [] as 0)", r.Data, r.Warnings)
	}
	if code != http.StatusServiceUnavailable || r.ErrorType != "unavailable" || !strings.Contains(r.Error, svc.Namespace+"/"+svc.Name) {
		t.Errorf("the latest scrape older than the lookback delta: got %d %q %q %s, want 503 unavailable naming the Service", code, r.ErrorType, r.Error, r.Data)
	}
}
