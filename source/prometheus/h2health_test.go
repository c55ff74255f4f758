package prometheus

import (
	"fmt"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/podscrape/podscrape/internal/localcluster"
)

// TestHTTP2DeadConnectionIsDropped: over https the client speaks HTTP/2 to Prometheus,
// one connection for every query. When that connection stops answering (a proxy or a
// load balancer that dropped it silently), every query and each of its retries went to
// it and timed out, for as long as the kernel kept the connection, while a new one
// would have been answered. The connection is now pinged when it has received nothing
// for a while and closed when the ping goes unanswered, as Prometheus' own client does,
// and the queries go to a new connection.
func TestHTTP2DeadConnectionIsDropped(t *testing.T) {
	savedAfter, savedTimeout := h2PingAfter, h2PingTimeout
	h2PingAfter, h2PingTimeout = 100*time.Millisecond, 100*time.Millisecond
	t.Cleanup(func() { h2PingAfter, h2PingTimeout = savedAfter, savedTimeout })

	ca, err := localcluster.NewCA("podscrape h2 test CA")
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.ServerCert([]string{"127.0.0.1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := localcluster.ServeTLS("127.0.0.1", 0, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor != 2 {
			writeJSON(w, http.StatusInternalServerError, `{"status":"error","errorType":"internal","error":"not HTTP/2"}`)
			return
		}
		writeJSON(w, http.StatusOK, vectorOf(1, "1"))
	}), cert)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	proxy, err := localcluster.StartFreezingProxy("127.0.0.1", net.JoinHostPort("127.0.0.1", strconv.Itoa(srv.Port)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proxy.Close)

	a, err := NewAPI(ClientConfig{URL: fmt.Sprintf("https://127.0.0.1:%d", proxy.Port()), CAData: ca.PEM})
	if err != nil {
		t.Fatal(err)
	}
	cfg := fastConfig()
	cfg.QueryTimeout = 500 * time.Millisecond
	s := NewPrometheusSource(t.Context(), a, cfg)
	if r := queryOnce(t, t.Context(), s); r.Error != nil {
		t.Fatalf("first query: %v", r.Error)
	}

	proxy.Freeze()
	deadline := time.Now().Add(15 * time.Second)
	for {
		r := queryOnce(t, t.Context(), s)
		if r.Error == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no query answered within 15s of the connection going silent (connections made: %d); last error: %v",
				proxy.Accepted.Load(), r.Error)
		}
	}
	if n := proxy.Accepted.Load(); n < 2 {
		t.Fatalf("connections: got %d, want a new one after the first went silent", n)
	}
}
