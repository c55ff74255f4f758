package pod

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/podscrape/podscrape/internal/localcluster"
)

// TestHTTP2DeadConnectionIsDropped: over https a pod is scraped over HTTP/2, one
// connection for all its scrapes. A request that times out on it resets its stream but
// leaves the connection in the pool, so when the connection stops answering (the
// peer's handler for it wedged, a path that drops), every later scrape of the pod went to
// it and timed out, for as long as the kernel kept the connection (for ever when the
// peer's kernel still acknowledges), while a new connection would have been answered.
// Prometheus' HTTP client pings an HTTP/2 connection that has received nothing for a
// minute and closes it when the ping goes unanswered (ReadIdleTimeout); so does the
// source now, and the pod is scraped again over a new connection.
func TestHTTP2DeadConnectionIsDropped(t *testing.T) {
	savedAfter, savedTimeout := h2PingAfter, h2PingTimeout
	h2PingAfter, h2PingTimeout = 100*time.Millisecond, 100*time.Millisecond
	t.Cleanup(func() { h2PingAfter, h2PingTimeout = savedAfter, savedTimeout })

	ctx := context.Background()
	ns := fmt.Sprintf("h2-%d", runs.Add(1))
	if err := cp.CreateNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	block := localcluster.NewAddressBlock()
	podIP, serverIP := block.Next(), block.Next()
	ca, err := localcluster.NewCA("podscrape h2 test CA")
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.ServerCert([]string{podIP}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var h2 atomic.Int32
	srv, err := localcluster.ServeTLS(serverIP, 0, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor == 2 {
			h2.Add(1)
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = fmt.Fprintln(w, "m 1")
	}), cert)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	proxy, err := localcluster.StartFreezingProxy(podIP, net.JoinHostPort(serverIP, strconv.Itoa(srv.Port)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proxy.Close)
	sel := map[string]string{"app": "pod"}
	if err := cp.CreateService(ctx, ns, "pod", sel, int32(proxy.Port())); err != nil {
		t.Fatal(err)
	}
	if _, err := cp.CreatePod(ctx, localcluster.PodSpec{Namespace: ns, Name: "p", Labels: sel, IP: podIP, Ready: true}); err != nil {
		t.Fatal(err)
	}
	s, err := NewPodScrapingSource(ctx, cp.Client, PodScrapingSourceConfig{
		ServiceName: "pod", ServiceNamespace: ns, MetricsPort: int32(proxy.Port()),
		MetricsScheme: "https", TLSCAData: ca.PEM, ScrapeTimeout: 500 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	up := func() (bool, error) {
		pods, err := s.ScrapeSeries(ctx)
		if err != nil || len(pods) != 1 {
			return false, fmt.Errorf("ScrapeSeries: %d pods, error %v", len(pods), err)
		}
		return pods[0].Up, pods[0].Err
	}
	if ok, err := up(); !ok || h2.Load() != 1 {
		t.Fatalf("first scrape: up %v (%v), %d requests over HTTP/2, want up over HTTP/2", ok, err, h2.Load())
	}

	proxy.Freeze()
	deadline := time.Now().Add(15 * time.Second)
	var last error
	for {
		ok, err := up()
		if ok {
			break
		}
		last = err
		if time.Now().After(deadline) {
			t.Fatalf("the pod was not scraped again within 15s of its connection going silent (connections made: %d); last error: %v",
				proxy.Accepted.Load(), last)
		}
	}
	if n := proxy.Accepted.Load(); n < 2 {
		t.Fatalf("connections: got %d, want a new one after the first went silent", n)
	}
}
