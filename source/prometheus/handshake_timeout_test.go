package prometheus

import (
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// ClientConfig.Timeout bounds the TLS handshake: a server that accepts the connection
// and never answers fails the query with a handshake timeout, well within QueryTimeout.
func TestClientTimeoutBoundsTheHandshake(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex // protects held
	var held []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c) // never read nor answered
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			_ = c.Close()
		}
	})
	a, err := NewAPI(ClientConfig{URL: "https://" + l.Addr().String(), Timeout: 100 * time.Millisecond, InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	r := queryOnce(t, t.Context(), NewPrometheusSource(t.Context(), a, fastConfig()))
	if r.Error == nil || !strings.Contains(r.Error.Error(), "TLS handshake timeout") {
		t.Fatalf("got %v, want a TLS handshake timeout (ClientConfig.Timeout 100ms, QueryTimeout 5s)", r.Error)
	}
}
