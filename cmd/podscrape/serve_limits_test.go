package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestServeClosesSlowAndIdleConnections: a client that sends a request's headers and
// then its body slowly (slowloris), or keeps a connection idle after a request, does not
// hold it for ever: serve's HTTP server has Prometheus' --web.read-timeout (5m, shortened
// here), which bounds the read of a request and the idle time between requests. Without
// it each such connection held a goroutine and its buffers until the client left.
func TestServeClosesSlowAndIdleConnections(t *testing.T) {
	defer func(d time.Duration) { serveReadTimeout = d }(serveReadTimeout)
	serveReadTimeout = time.Second
	base := startServe(t, llmd.VLLMService, "--port", port(llmd.VLLMPort), "--interval", "4m")
	addr := strings.TrimPrefix(base, "http://")

	// closedWithin reads c until the server closes it, and fails when it has not within
	// a time well past the read timeout.
	closedWithin := func(name string, c net.Conn) {
		t.Helper()
		_ = c.SetReadDeadline(time.Now().Add(15 * time.Second))
		_, err := io.Copy(io.Discard, c)
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Errorf("%s: the connection is still open 15s later, with a read timeout of %s", name, serveReadTimeout)
		}
	}

	slow, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	// The headers whole, the body never.
	if _, err := io.WriteString(slow, "POST /api/v1/query HTTP/1.1\r\nHost: serve\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\nquery="); err != nil {
		t.Fatal(err)
	}
	closedWithin("a body never sent", slow)

	idle, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	if _, err := io.WriteString(idle, "GET /-/healthy HTTP/1.1\r\nHost: serve\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(idle)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/-/healthy: %d", resp.StatusCode)
	}
	_ = idle.SetReadDeadline(time.Now().Add(15 * time.Second))
	if _, err := io.Copy(io.Discard, br); err != nil {
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Errorf("a keep-alive connection idle after its request: still open 15s later, with a read timeout of %s", serveReadTimeout)
		}
	}
}

// TestServeBoundsConnections: serve serves at most Prometheus' --web.max-connections
// (512, fewer here) connections at once; one more, none of them idle (a request on each,
// its body still to come), waits to be accepted until one closes (an idle one would be
// closed for it: TestServeProbesAnswerPastIdleConnections; one with no request yet past
// half a second: TestServeProbesAnswerPastSlowHeaders). Without the bound a client
// opening connections without end made serve hold a goroutine and buffers for each, up
// to running out of memory.
func TestServeBoundsConnections(t *testing.T) {
	limitConnections(t, 3)
	base := startServe(t, llmd.VLLMService, "--port", port(llmd.VLLMPort), "--interval", "4m")
	addr := strings.TrimPrefix(base, "http://")

	var held []net.Conn
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	for range serveMaxConnections {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, c)
		if _, err := io.WriteString(c, "POST /api/v1/query HTTP/1.1\r\nHost: serve\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\nquery="); err != nil {
			t.Fatal(err)
		}
	}
	get := func(timeout time.Duration) error {
		client := &http.Client{Timeout: timeout, Transport: &http.Transport{DisableKeepAlives: true}}
		resp, err := client.Get(base + "/-/healthy")
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	if err := get(time.Second); err == nil {
		t.Errorf("a request answered with %d connections open, want it to wait for one of them to close", serveMaxConnections)
	}
	held[0].Close()
	if err := get(30 * time.Second); err != nil {
		t.Errorf("once a connection closed: %v, want an answer", err)
	}
}

// TestServeBoundsHeaders: a request's line and headers are bounded at 128 KiB (431
// past it), not Go's and Prometheus' 1 MiB: a connection holds about 1.3 MiB while
// such headers arrive, before any --auth check, and the 512 connections served at once
// would hold 680 MiB, past deploy/'s 512Mi. A GET query of a regex over a thousand pod
// names (50 KiB) is still answered.
func TestServeBoundsHeaders(t *testing.T) {
	base := startServe(t, llmd.VLLMService, "--port", port(llmd.VLLMPort), "--interval", "4m")
	waitServeReady(t, base)
	pods := make([]string, 1000)
	for i := range pods {
		pods[i] = fmt.Sprintf("vllm-decode-7f9c8d6b5-%05d-with-a-long-name-%04d", i, i)
	}
	q := url.Values{"query": {`count(vllm:num_requests_running{pod=~"` + strings.Join(pods, "|") + `"}) or vector(0)`}}
	resp, err := http.Get(base + "/api/v1/query?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("a GET query of %d KiB: %d, want 200", len(q.Encode())>>10, resp.StatusCode)
	}

	req, err := http.NewRequest(http.MethodGet, base+"/-/healthy", nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 300 {
		req.Header.Set(fmt.Sprintf("X-Filler-%d", i), strings.Repeat("a", 1000))
	}
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("a request with 300 KB of headers: %d, want 431", resp.StatusCode)
	}
}

// TestServeQueryWithoutTimeoutIsBoundedByThePodTimeout holds serve to docs/serve.md: a
// query that sends no timeout of its own waits for its --max-age scrape only as long as
// the pod timeout allows (twice --timeout at most: the scrape in flight, then the one
// queued), then answers 503 naming the hung pod. Nothing else bounds it: the HTTP
// server's read timeout does not cancel a request once it has been read.
func TestServeQueryWithoutTimeoutIsBoundedByThePodTimeout(t *testing.T) {
	t.Parallel()
	var holding atomic.Bool
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if holding.Load() {
			select {
			case <-r.Context().Done():
			case <-release:
			}
			return
		}
		w.Header().Set("Content-Type", textFormat)
		_, _ = io.WriteString(w, "# TYPE x gauge\nx 1\n")
	})
	svc := newTestService(t, "hangs", h)
	base := startServe(t, "-n", svc.namespace, svc.name, "--port", port(svc.port),
		"--interval", "1h", "--timeout", "1s", "--max-age", "1ms")
	waitServeReady(t, base)

	holding.Store(true)
	answered := getInBackground(base + "/api/v1/query?query=x")
	select {
	case a := <-answered:
		if a.err != nil || a.code != http.StatusServiceUnavailable || !strings.Contains(a.body, `"errorType":"unavailable"`) || !strings.Contains(a.body, "timeout") {
			t.Errorf("a query waiting on a hung pod: got %d %q (error %v), want 503 unavailable naming the pod's timeout", a.code, a.body, a.err)
		}
	case <-time.After(20 * time.Second):
		t.Errorf("a query with no timeout, waiting on a pod that hangs, had no answer 20s later with a pod timeout of 1s")
	}
}

// TestServeLimitFlags: serve SERVICE takes --sample-limit, --body-size-limit and
// --series-limit, which only --config's sampleLimit, bodySizeLimit and seriesLimit set
// before: a vLLM pod over 5 samples or 1 KiB fails alone (its target down, the error
// giving the limit), and a history of 2 series refuses the rest, which the answers warn
// of.
func TestServeLimitFlags(t *testing.T) {
	// poll asks u until ok accepts its answer, for 30s.
	poll := func(what, u string, ok func(code int, body string) bool) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			resp, err := http.Get(u)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if ok(resp.StatusCode, string(body)) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %s answered %d %s for 30s", what, u, resp.StatusCode, body)
			}
			time.Sleep(20 * time.Millisecond) // polling until the first scrape
		}
	}
	vllm := []string{llmd.VLLMService, "--port", port(llmd.VLLMPort), "--interval", "4m"}
	for _, tc := range []struct {
		flag, value, want string
	}{
		{"--sample-limit", "5", "more than the limit of 5"},
		{"--body-size-limit", "1KiB", "1024-byte limit"},
	} {
		base := startServe(t, append(vllm, tc.flag, tc.value)...)
		poll(tc.flag, base+"/api/v1/targets", func(code int, body string) bool {
			return code == http.StatusOK && strings.Count(body, tc.want) == len(llmd.VLLMPods) && !strings.Contains(body, `"health":"up"`)
		})
	}
	// --series-limit is, as --interval, the default of a --config Service that sets none.
	cfg := filepath.Join(t.TempDir(), "serve.yaml")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, "services:\n- name: %s\n  port: %d\n  interval: 4m\n", llmd.VLLMService, llmd.VLLMPort), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{append(vllm, "--series-limit", "2"), {"--config", cfg, "--series-limit", "2"}} {
		base := startServe(t, args...)
		poll(fmt.Sprint(args), base+"/api/v1/query?"+url.Values{"query": {"count(vllm:num_requests_waiting)"}}.Encode(), func(code int, body string) bool {
			return code == http.StatusOK && strings.Contains(body, "series limit")
		})
	}
}
