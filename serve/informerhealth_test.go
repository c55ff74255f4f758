package serve

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestInformerHealthCountsOnlyFailures: the requests of StartCache's informers, through
// informerHealth's transport to a real HTTP server on loopback, fail a namespace's
// discovery exactly when they fail: a request refused or answered an error status (403:
// the informers' RBAC revoked), a watch whose connection is lost; and not a relist asked
// by 410 Gone, a watch the API server ends cleanly (its timeout, every few minutes), nor
// one the informer closes itself. A request answered 200 clears its resource's failure,
// and the namespace fails since the earliest of its failing resources. Counted the other
// way, a watch's timeout would log discovery failing every few minutes, and a revoked
// RBAC or a cut path would read as current.
func TestInformerHealthCountsOnlyFailures(t *testing.T) {
	status := http.StatusOK
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("watch") != "true" {
			w.WriteHeader(status)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, `{"type":"ADDED","object":{}}`+"\n")
		w.(http.Flusher).Flush()
		switch r.URL.Query().Get("end") {
		case "lost": // the connection closed mid-stream, the chunked body unterminated
			conn, buf, err := w.(http.Hijacker).Hijack()
			if err != nil {
				t.Error(err)
				return
			}
			_ = buf.Flush()
			_ = conn.Close()
		case "open": // streaming until the client leaves
			<-r.Context().Done()
		}
		// Otherwise the watch ends cleanly, as at its timeout.
	}))
	t.Cleanup(hs.Close)
	h := &informerHealth{}
	c := &http.Client{Transport: h.wrap(http.DefaultTransport)}
	get := func(path string) *http.Response {
		t.Helper()
		resp, err := c.Get(hs.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	failing := func(ns string) string {
		f, ok := h.failure(ns)
		if !ok {
			return ""
		}
		return f.err.Error()
	}

	// A watch ended by the API server, read to its end: not a failure.
	resp := get("/api/v1/namespaces/a/pods?watch=true")
	if _, err := io.ReadAll(resp.Body); err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if f := failing("a"); f != "" {
		t.Errorf("a watch ended cleanly: discovery failing (%s), want current", f)
	}
	// A watch closed by the informer while it streams, then read: not a failure.
	resp = get("/api/v1/namespaces/a/pods?watch=true&end=open")
	r := bufio.NewReader(resp.Body)
	if _, err := r.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	_, _ = io.ReadAll(resp.Body)
	if f := failing("a"); f != "" {
		t.Errorf("a watch closed by the informer: discovery failing (%s), want current", f)
	}
	// 410 Gone asks a relist: not a failure.
	status = http.StatusGone
	_ = get("/api/v1/namespaces/a/pods").Body.Close()
	if f := failing("a"); f != "" {
		t.Errorf("a list answered 410: discovery failing (%s), want current", f)
	}

	// A watch whose connection is lost: services of b fail.
	resp = get("/api/v1/namespaces/b/services?watch=true&end=lost")
	if _, err := io.ReadAll(resp.Body); err == nil {
		t.Fatal("reading a watch whose connection was lost: no error")
	}
	_ = resp.Body.Close()
	if f := failing("b"); !strings.Contains(f, "watch services: connection lost") {
		t.Errorf("a watch whose connection was lost: discovery failing %q, want the connection lost", f)
	}
	since, _ := h.failure("b")
	// Then pods of b answered 403: b fails since the earlier, with its error.
	status = http.StatusForbidden
	_ = get("/api/v1/namespaces/b/pods").Body.Close()
	if f, ok := h.failure("b"); !ok || !f.since.Equal(since.since) || !strings.Contains(f.err.Error(), "watch services") {
		t.Errorf("b failing since %v (%v), then its pods answered 403: %v %v, want since the first, its error", since.since, since.err, f.since, f.err)
	}
	// Services of b listed again, still failing: since the first failure, the latest
	// error (each retry of a long outage fails anew: it is warned of past 30 s all the same).
	_ = get("/api/v1/namespaces/b/services").Body.Close()
	if f, _ := h.failure("b"); !f.since.Equal(since.since) {
		t.Errorf("services of b failing again: failing since %v, want since the first failure, %v", f.since, since.since)
	}
	if f := failing("b"); !strings.Contains(f, "list services: the API server answered 403 Forbidden") {
		t.Errorf("services of b answered 403 after the connection lost: discovery failing %q, want the 403", f)
	}
	// Services answered 200, pods still 403; then both: b is current again.
	status = http.StatusOK
	_ = get("/api/v1/namespaces/b/services").Body.Close()
	if f := failing("b"); !strings.Contains(f, "list pods: the API server answered 403 Forbidden") {
		t.Errorf("services of b answered 200, pods still 403: discovery failing %q, want the pods' 403", f)
	}
	_ = get("/api/v1/namespaces/b/pods").Body.Close()
	if f := failing("b"); f != "" {
		t.Errorf("b answered 200 again: discovery failing (%s), want current", f)
	}
	// A second failure is one again.
	status = http.StatusForbidden
	_ = get("/api/v1/namespaces/b/pods").Body.Close()
	if f := failing("b"); !strings.Contains(f, "list pods: the API server answered 403 Forbidden") {
		t.Errorf("b failing a second time: discovery failing %q, want the 403", f)
	}

	// A request refused: a failure, unless the informers stopped (their context ended).
	refused, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := refused.Addr().String()
	_ = refused.Close()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	for _, ctx := range []context.Context{ctx, t.Context()} {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/api/v1/namespaces/c/pods", nil)
		if err != nil {
			t.Fatal(err)
		}
		if resp, err := c.Do(req); err == nil {
			_ = resp.Body.Close()
			t.Fatalf("GET %s: answered, want refused", addr)
		}
		if f := failing("c"); (f == "") == (ctx.Err() == nil) {
			t.Errorf("a list refused (informers stopping: %v): discovery failing %q", ctx.Err() != nil, f)
		}
	}
}
