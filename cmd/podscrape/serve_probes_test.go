package main

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// TestServeProbesAnswerPastIdleConnections: with every connection serve serves at once
// (512, 3 here) held idle by keep-alive clients, the kubelet's probes (a new connection
// each, a 1s timeout) are still answered: the connection idle the longest is closed to
// make room. Before, a new connection waited in the backlog until a client let one go (up
// to --web.read-timeout, 5m), so the probes failed, and the kubelet took serve out of its
// Service and restarted it. A client whose connection is closed while idle sees it closed
// (EOF), as after the server's idle timeout; the others are still served.
// TestConnLimiterClosesTheLongestIdle holds which one is closed.
func TestServeProbesAnswerPastIdleConnections(t *testing.T) {
	limitConnections(t, 3)
	base, addr := startReadyServe(t, llmd.VLLMService, "--port", port(llmd.VLLMPort), "--interval", "4m")

	// idle opens a connection, asks /-/healthy on it and keeps it open, idle.
	type idleConn struct {
		net.Conn
		r *bufio.Reader
	}
	idle := func() idleConn {
		t.Helper()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		if _, err := io.WriteString(c, "GET /-/healthy HTTP/1.1\r\nHost: serve\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		r := bufio.NewReader(c)
		_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
		resp, err := http.ReadResponse(r, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return idleConn{c, r}
	}
	var held []idleConn
	for range serveMaxConnections {
		held = append(held, idle())
	}

	// As the kubelet probes: a new connection each time, closed after the answer.
	probe := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for _, path := range []string{"/-/healthy", "/-/ready"} {
		resp, err := probe.Get(base + path)
		if err != nil {
			t.Fatalf("%s with %d idle keep-alive connections open: %v, want an answer", path, serveMaxConnections, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: %d, want 200", path, resp.StatusCode)
		}
	}
	// Each probe took the place of an idle connection, the one idle the longest (or
	// the first probe's, closed after its answer): a connection closed while idle reads
	// EOF; the one idle the shortest (or more) is still served.
	closed, served := 0, 0
	for i, c := range held {
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.WriteString(c, "GET /-/healthy HTTP/1.1\r\nHost: serve\r\n\r\n"); err != nil {
			closed++
			continue
		}
		resp, err := http.ReadResponse(c.r, nil)
		var ne net.Error
		switch {
		case errors.As(err, &ne) && ne.Timeout():
			t.Errorf("idle connection %d: no answer in 10s, neither closed nor served", i)
		case err != nil:
			closed++
		default:
			resp.Body.Close()
			served++
		}
	}
	if closed == 0 || served == 0 {
		t.Errorf("of %d idle connections, after two probes: %d closed, %d still served; want some of each", len(held), closed, served)
	}
}

// TestServeProbesAnswerPastIdleHTTP2Connections: the same over https, the connections
// held idle by HTTP/2 clients (Grafana's, prometheus-adapter's), whose streams are done.
func TestServeProbesAnswerPastIdleHTTP2Connections(t *testing.T) {
	limitConnections(t, 3)
	ca, certFile, keyFile := servingCert(t, "podscrape-serve-probes")
	base := startServe(t, llmd.VLLMService, "--port", port(llmd.VLLMPort), "--interval", "4m", "--tls-cert-file", certFile, "--tls-key-file", keyFile)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.PEM)
	get := func(client *http.Client, path string) (*http.Response, error) {
		resp, err := client.Get(base + path)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		return resp, err
	}
	for range serveMaxConnections {
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}
		t.Cleanup(tr.CloseIdleConnections)
		resp, err := get(&http.Client{Transport: tr, Timeout: 30 * time.Second}, "/-/healthy")
		if err != nil {
			t.Fatal(err)
		}
		if resp.ProtoMajor != 2 {
			t.Fatalf("a client asking for HTTP/2 got %s", resp.Proto)
		}
	}
	probe := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, DisableKeepAlives: true}}
	for _, path := range []string{"/-/healthy", "/-/healthy"} {
		if _, err := get(probe, path); err != nil {
			t.Errorf("%s with %d idle HTTP/2 connections open: %v, want an answer", path, serveMaxConnections, err)
		}
	}
}

// TestConnLimiterClosesTheLongestIdle: a connection past the bound closes the one idle the
// longest, never one with a request on it (active); with none idle it waits, and is
// accepted once one turns idle (which is then closed for it).
func TestConnLimiterClosesTheLongestIdle(t *testing.T) {
	l, accepted := acceptingLimiter(t, 3)
	defer l.Close()
	// dial connects a client, and returns it and the server's end once accepted.
	dial := func() (client, server net.Conn) {
		t.Helper()
		client, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { client.Close() })
		select {
		case server = <-accepted:
			t.Cleanup(func() { server.Close() })
			return client, server
		case <-time.After(10 * time.Second):
			t.Fatal("a connection within the bound was not accepted in 10s")
		}
		return nil, nil
	}
	// isClosed reports whether the server closed client's connection.
	isClosed := func(client net.Conn) bool {
		_ = client.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		_, err := client.Read(make([]byte, 1))
		var ne net.Error
		return !(errors.As(err, &ne) && ne.Timeout())
	}
	c0, s0 := dial()
	c1, s1 := dial()
	c2, s2 := dial()
	l.ConnState(s1, http.StateIdle) // s1 idle the longest
	l.ConnState(s0, http.StateActive)
	l.ConnState(s2, http.StateIdle)

	c3, s3 := dial()
	if !isClosed(c1) || isClosed(c0) || isClosed(c2) {
		t.Errorf("a 4th connection, past 3: closed %v %v %v, want only the one idle the longest (the 2nd) closed", isClosed(c0), isClosed(c1), isClosed(c2))
	}
	l.ConnState(s3, http.StateActive)
	l.ConnState(s2, http.StateActive) // a request on it again: not idle

	// None idle (s0, s2, s3 active): a 5th waits, until one turns idle.
	c4, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c4.Close()
	select {
	case <-accepted:
		t.Fatal("a 5th connection accepted with 3 active ones served")
	case <-time.After(200 * time.Millisecond): // nothing must happen: a wait that ends the check
	}
	l.ConnState(s0, http.StateIdle)
	select {
	case s4 := <-accepted:
		defer s4.Close()
	case <-time.After(10 * time.Second):
		t.Fatal("a waiting connection not accepted in 10s after one turned idle")
	}
	if !isClosed(c0) || isClosed(c2) || isClosed(c3) {
		t.Errorf("after the 1st turned idle: closed %v %v %v, want only it closed", isClosed(c0), isClosed(c2), isClosed(c3))
	}
}

// TestConnLimiterSparesNewConnectionsWithinTheGrace: a connection with no request read
// yet (new: a client in its TLS handshake, a probe whose request is on its way) is not
// closed for one past the bound until it has been so for newConnGrace (an hour here):
// the connection past the bound waits, and takes the place of one that turns idle.
// Past the grace, one is closed: TestServeProbesAnswerPastSlowHeaders.
func TestConnLimiterSparesNewConnectionsWithinTheGrace(t *testing.T) {
	defer func(d time.Duration) { newConnGrace = d }(newConnGrace)
	newConnGrace = time.Hour
	l, accepted := acceptingLimiter(t, 2)
	defer l.Close()
	var clients, servers []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		clients = append(clients, c)
		select {
		case s := <-accepted:
			defer s.Close()
			servers = append(servers, s)
			l.ConnState(s, http.StateNew) // as http.Server reports it
		case <-time.After(10 * time.Second):
			t.Fatal("a connection within the bound was not accepted in 10s")
		}
	}
	c2, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	select {
	case <-accepted:
		t.Fatal("a 3rd connection accepted with 2 new ones served, within the grace")
	case <-time.After(200 * time.Millisecond): // nothing must happen: a wait that ends the check
	}
	l.ConnState(servers[1], http.StateActive)
	l.ConnState(servers[1], http.StateIdle)
	select {
	case s2 := <-accepted:
		defer s2.Close()
	case <-time.After(10 * time.Second):
		t.Fatal("a waiting connection not accepted in 10s after one turned idle")
	}
	for i, c := range clients {
		_ = c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		_, err := c.Read(make([]byte, 1))
		var ne net.Error
		closed := !(errors.As(err, &ne) && ne.Timeout())
		if closed != (i == 1) {
			t.Errorf("connection %d closed: %v, want only the one that turned idle (1) closed", i, closed)
		}
	}
}

// acceptingLimiter returns a connLimiter of n on a loopback listener, accepting until
// it is closed; each connection accepted is sent on the channel, closed at the end.
func acceptingLimiter(t *testing.T, n int) (*connLimiter, <-chan net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := newConnLimiter(ln, n)
	accepted := make(chan net.Conn, 8)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				close(accepted)
				return
			}
			accepted <- c
		}
	}()
	return l, accepted
}
