package prometheus

import (
	"bufio"
	"crypto/tls"
	"encoding/pem"
	"io"
	stdlog "log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestDowngradeToHTTPGetsNoToken configures the client with https on a real loopback
// listener that speaks both TLS and plain HTTP on one port. The https endpoint redirects
// to http on the same host and port: the redirect is followed, and the plain-HTTP
// request carries neither the Bearer token nor the configured headers, which would
// otherwise cross the network in clear text.
func TestDowngradeToHTTPGetsNoToken(t *testing.T) {
	var (
		mu    sync.Mutex // protects overTLS, plain
		tlsH  []http.Header
		plain []http.Header
	)
	srv := newDualListener(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if r.TLS != nil {
			tlsH = append(tlsH, r.Header.Clone())
			http.Redirect(w, r, "http://"+r.Host+r.URL.RequestURI(), http.StatusTemporaryRedirect)
			return
		}
		plain = append(plain, r.Header.Clone())
		writeJSON(w, http.StatusOK, vectorOf(1, "1"))
	}))
	a, err := NewAPI(ClientConfig{URL: "https://" + srv.addr, CAData: srv.ca, BearerToken: secret,
		Headers: map[string]string{"X-Scope-OrgID": "tenant-a"}})
	if err != nil {
		t.Fatal(err)
	}
	r := queryOnce(t, t.Context(), NewPrometheusSource(t.Context(), a, fastConfig()))
	mu.Lock()
	defer mu.Unlock()
	if len(tlsH) == 0 || tlsH[0].Get("Authorization") != "Bearer "+secret {
		t.Fatalf("https requests: %v; want the first to carry the token (Error: %v)", tlsH, r.Error)
	}
	if len(plain) == 0 {
		t.Fatalf("the redirect to http on the same host was not followed (Error: %v)", r.Error)
	}
	for _, h := range plain {
		for name, values := range h {
			if strings.Contains(strings.Join(values, " "), secret) || name == "Authorization" || name == "X-Scope-Orgid" {
				t.Errorf("a plain-HTTP request to the configured host carried %s: %q", name, values)
			}
		}
	}
}

// dualListener serves h over TLS and plain HTTP on one loopback port, telling them
// apart by the first byte a client sends (22: a TLS handshake record).
type dualListener struct {
	net.Listener
	config *tls.Config
	addr   string // host:port
	ca     []byte // PEM of the certificate, valid for 127.0.0.1
}

func newDualListener(t *testing.T, h http.Handler) *dualListener {
	t.Helper()
	// httptest's certificate, valid for 127.0.0.1.
	donor := httptest.NewUnstartedServer(h)
	donor.StartTLS()
	config := donor.TLS.Clone()
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: donor.Certificate().Raw})
	donor.Close()

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d := &dualListener{Listener: l, config: config, addr: l.Addr().String(), ca: ca}
	srv := &http.Server{Handler: h, ErrorLog: stdlog.New(io.Discard, "", 0), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(d) }()
	t.Cleanup(func() { _ = srv.Close() })
	return d
}

// Accept returns the next connection, as a *tls.Conn when it opens with a TLS handshake.
func (d *dualListener) Accept() (net.Conn, error) {
	c, err := d.Listener.Accept()
	if err != nil {
		return nil, err
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	first, err := br.Peek(1)
	_ = c.SetReadDeadline(time.Time{})
	pc := &peekedConn{Conn: c, r: br}
	if err == nil && first[0] == 22 {
		return tls.Server(pc, d.config), nil
	}
	return pc, nil
}

// peekedConn is a connection whose first bytes were read ahead into r.
type peekedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *peekedConn) Read(p []byte) (int, error) { return c.r.Read(p) }
