package main

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Clients that hold serve's connections without ever being allowed a request: any pod
// that reaches serve's port, with no token. Each connection served holds one of the
// --web.max-connections slots (512, 3 here), and a kubelet probe is a new connection
// that gives up after 1s: slots held long enough fail the probes, and the kubelet
// restarts serve, its in-memory history lost.

// TestServeRefusalDoesNotWaitForTheBody: under --auth kubernetes, a request refused for
// want of a token (401) whose body is still to come (a POST sent slowly, or never) is
// answered at once and its connection closed. Before, net/http read up to 256 KiB of the
// body before writing the 401, so that the connection could carry the next request: a
// client sending no token and its body a byte a minute held its slot for the read
// timeout (5m), and three (512) such clients failed every probe.
func TestServeRefusalDoesNotWaitForTheBody(t *testing.T) {
	limitConnections(t, 3)
	base, addr := startReadyServe(t, llmd.VLLMService, "--port", port(llmd.VLLMPort), "--interval", "4m", "--auth", "kubernetes")

	for i, head := range []string{
		"POST /api/v1/query HTTP/1.1\r\nHost: serve\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\nquery=",
		"POST /api/v1/query HTTP/1.1\r\nHost: serve\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nquery=\r\n",
		"POST /federate HTTP/1.1\r\nHost: serve\r\nContent-Length: 10\r\n\r\n",
		// The probes' paths answer a kubelet without a token: a GET or HEAD without a
		// body. Any other request there is reviewed, and refused.
		"POST /-/healthy HTTP/1.1\r\nHost: serve\r\nContent-Length: 10\r\n\r\n",
		"GET /-/ready HTTP/1.1\r\nHost: serve\r\nTransfer-Encoding: chunked\r\n\r\n",
		// net/http answers OPTIONS * itself, reading up to 4 KiB of its body first,
		// unless the server leaves it to the handler.
		"OPTIONS * HTTP/1.1\r\nHost: serve\r\nContent-Length: 10\r\n\r\n",
	} {
		c := dialSending(t, addr, head)
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		r := bufio.NewReader(c)
		resp, err := http.ReadResponse(r, nil)
		if err != nil {
			t.Fatalf("connection %d, no token and its body still to come: %v, want a 401 at once", i, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("connection %d: %d, want 401", i, resp.StatusCode)
		}
		if _, err := r.ReadByte(); err != io.EOF {
			t.Errorf("connection %d after its 401: %v, want it closed (EOF)", i, err)
		}
	}

	probe := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for _, path := range []string{"/-/healthy", "/-/ready"} {
		resp, err := probe.Get(base + path)
		if err != nil {
			t.Fatalf("%s after %d refused requests with bodies still to come: %v, want an answer", path, serveMaxConnections, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: %d, want 200", path, resp.StatusCode)
		}
	}
}

// TestServeProbesAnswerPastSlowHeaders: clients that connect and send a request's
// headers slowly, or nothing at all, hold no slot past a grace of half a second once
// the slots run out: the kubelet's probes are answered. Before, each held its slot for
// the 10s header timeout, a connection with no request on it yet being closed for none,
// so that 512 connections opened every 10s, by anyone reaching the port, failed every
// probe (three here, and the probes waited past their timeout). A client that sends its
// request as it connects is served.
func TestServeProbesAnswerPastSlowHeaders(t *testing.T) {
	limitConnections(t, 3)
	base, addr := startReadyServe(t, llmd.VLLMService, "--port", port(llmd.VLLMPort), "--interval", "4m", "--auth", "kubernetes")

	var slow []net.Conn
	for _, partial := range []string{
		"", // connected, nothing sent
		"GET /api/v1/query?query=up HTTP/1.1\r\nHost: se",
		"POST /api/v1/query HTTP/1.1\r\nHost: serve\r\nContent-Type: application/x-www-",
	} {
		c := dialSending(t, addr, partial)
		slow = append(slow, c)
	}

	probe := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for _, path := range []string{"/-/healthy", "/-/ready", "/-/healthy"} {
		resp, err := probe.Get(base + path)
		if err != nil {
			t.Fatalf("%s with %d connections sending their headers slowly: %v, want an answer", path, serveMaxConnections, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: %d, want 200", path, resp.StatusCode)
		}
	}
	// The probes took the places of the slow connections, closed (EOF, or a reset for
	// one whose bytes were left unread) well before the 10s header timeout.
	closed := 0
	for _, c := range slow {
		_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				continue
			}
			closed++
		}
	}
	if closed == 0 {
		t.Errorf("after 3 probes past %d slow connections: none of them closed before the header timeout", len(slow))
	}
}

// TestServeProbesAnswerPastSlowTLSHandshakes: the same over https, where a connection
// that never starts its TLS handshake holds its slot as one that sends no request; and a
// connection with a request on it (its body still to come) is not the one closed for a
// probe, but answered once its body arrives.
func TestServeProbesAnswerPastSlowTLSHandshakes(t *testing.T) {
	limitConnections(t, 3)
	ca, certFile, keyFile := servingCert(t, "podscrape-serve-slow-tls")
	base := startServe(t, llmd.VLLMService, "--port", port(llmd.VLLMPort), "--interval", "4m", "--tls-cert-file", certFile, "--tls-key-file", keyFile)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.PEM)
	tlsConfig := &tls.Config{RootCAs: pool}
	addr := strings.TrimPrefix(base, "https://")

	busy, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	const body = "query=1"
	if _, err := io.WriteString(busy, "POST /api/v1/query HTTP/1.1\r\nHost: serve\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 7\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	for range serveMaxConnections - 1 {
		c, err := net.Dial("tcp", addr) // no ClientHello
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
	}

	probe := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsConfig, DisableKeepAlives: true}}
	for _, path := range []string{"/-/healthy", "/-/healthy"} {
		resp, err := probe.Get(base + path)
		if err != nil {
			t.Fatalf("%s with %d connections in no TLS handshake and one request in flight: %v, want an answer", path, serveMaxConnections-1, err)
		}
		resp.Body.Close()
	}
	if _, err := io.WriteString(busy, body); err != nil {
		t.Fatalf("the request in flight: its connection closed for a probe: %v", err)
	}
	_ = busy.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(busy), nil)
	if err != nil {
		t.Fatalf("the request in flight: %v, want its answer (its connection is not one to close for a probe)", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("the request in flight: %d, want 200", resp.StatusCode)
	}
}

// TestServeClosesAConnectionWhoseClientStopsReading: a client that pipelines requests
// and never reads the answers (no token needed: each is a 401, or a probe's 200) fills
// the socket's buffers, and serve's write of the next answer makes no progress. Such a
// connection is closed once a write has made none for the write stall timeout (a
// minute, as nginx's send_timeout; shortened here), and the probes are answered. Before,
// with no write timeout at all, it held its slot for as long as the client kept it open,
// beyond every other bound.
func TestServeClosesAConnectionWhoseClientStopsReading(t *testing.T) {
	limitConnections(t, 3)
	defer func(d time.Duration) { serveWriteStallTimeout = d }(serveWriteStallTimeout)
	serveWriteStallTimeout = time.Second
	base, addr := startReadyServe(t, llmd.VLLMService, "--port", port(llmd.VLLMPort), "--interval", "4m", "--auth", "kubernetes")

	// Pipelined requests whose answers (170 MB of 401s) cannot fit in both ends' socket
	// buffers: once they are full, serve's write blocks, it reads no further request,
	// and the client's write of them blocks in turn: its deadline (or serve closing the
	// connection, a reset) ends it.
	requests := strings.Repeat("GET /api/v1/query?query=1 HTTP/1.1\r\nHost: serve\r\n\r\n", 1000000)
	stuck := make(chan error, serveMaxConnections)
	for range serveMaxConnections {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		go func() {
			_ = c.SetWriteDeadline(time.Now().Add(5 * time.Second))
			_, err := io.WriteString(c, requests)
			stuck <- err
		}()
	}
	for range serveMaxConnections {
		if err := <-stuck; err == nil {
			t.Fatal("pipelining 1,000,000 requests and reading no answer: all sent, want serve to stop reading them")
		}
	}

	probe := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := probe.Get(base + "/-/healthy")
	if err != nil {
		t.Fatalf("/-/healthy with %d connections whose clients read no answer: %v, want an answer", serveMaxConnections, err)
	}
	resp.Body.Close()
}

// TestServeRefusalOfABodySentAtOnceIsRead: a client sending its body at once (a large
// query form, a token expired) gets its 401, not a reset: the refusal reads the body for
// up to half a second before closing the connection, as net/http waits before closing a
// connection whose body it will not read, so that the client's unread bytes do not make
// the kernel reset the connection under the answer.
func TestServeRefusalOfABodySentAtOnceIsRead(t *testing.T) {
	base := startServe(t, llmd.VLLMService, "--port", port(llmd.VLLMPort), "--interval", "4m", "--auth", "kubernetes")
	waitServeReady(t, base)
	form := "query=" + strings.Repeat("x", 200<<10)
	for i := range 40 { // a reset needs the answer to race the body: each try is one chance
		req, err := http.NewRequest(http.MethodPost, base+"/api/v1/query", strings.NewReader(form))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if i%2 == 1 {
			req.Header.Set("Authorization", "Bearer not-a-token")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("POST of %d KiB, try %d (odd: a bad token; even: none): %v, want a 401", len(form)>>10, i, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("POST of %d KiB with a bad token: %d, want 401", len(form)>>10, resp.StatusCode)
		}
	}
}

// dialSending connects to addr, closed when the test ends, and sends text on it.
func dialSending(t *testing.T, addr, text string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := io.WriteString(c, text); err != nil {
		t.Fatal(err)
	}
	return c
}
