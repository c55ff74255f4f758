package main

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
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
	base := startServe(t, llmd.VLLMService, "--port", port(llmd.VLLMPort), "--interval", "1h")
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
// (512, fewer here) connections at once; one more waits to be accepted until one
// closes. Without the bound a client opening connections without end made serve hold
// a goroutine and buffers for each, up to running out of memory.
func TestServeBoundsConnections(t *testing.T) {
	defer func(n int) { serveMaxConnections = n }(serveMaxConnections)
	serveMaxConnections = 3
	base := startServe(t, llmd.VLLMService, "--port", port(llmd.VLLMPort), "--interval", "1h")
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
