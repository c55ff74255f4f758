package kubeauth_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"strings"
	"testing"

	"github.com/go-logr/logr"

	"github.com/podscrape/podscrape/internal/kubeauth"
)

// TestRefusalOverHTTP2KeepsTheConnection: a request refused over HTTP/2 (no token, with
// a body: a POST query of a client whose token expired) has its stream answered alone:
// the client's connection carries its next requests. "Connection: close", which an
// HTTP/1 refusal with a body sets so that its body is not read, makes an HTTP/2 server
// shut the whole connection down, every other stream of the client (KEDA's, a
// dashboard's) then to be sent again over a new connection and TLS handshake.
func TestRefusalOverHTTP2KeepsTheConnection(t *testing.T) {
	f, err := kubeauth.New(cp.Config, logr.Discard())
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewUnstartedServer(f.Wrap(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {})))
	hs.EnableHTTP2 = true
	hs.StartTLS()
	defer hs.Close()
	client := hs.Client()
	for i := range 3 {
		reused := false
		trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) { reused = info.Reused }}
		req, err := http.NewRequestWithContext(httptrace.WithClientTrace(t.Context(), trace), http.MethodPost, hs.URL+"/podscrape/api/v1/query", strings.NewReader("query=up"))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.ProtoMajor != 2 || resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("request %d: %s %d, want HTTP/2 401", i, resp.Proto, resp.StatusCode)
		}
		if i > 0 && !reused {
			t.Errorf("request %d after a refusal over HTTP/2: on a new connection, want the client's connection kept", i)
		}
	}
}
