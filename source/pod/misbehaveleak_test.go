package pod

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/podscrape/podscrape/internal/leakcheck"
	"github.com/podscrape/podscrape/internal/localcluster"
	"github.com/podscrape/podscrape/source"
)

// Pods that misbehave at the HTTP and TCP layer fail alone, each within ScrapeTimeout,
// refresh after refresh, and leave nothing behind: once the source is closed, every
// goroutine and connection it made (on both ends of the loopback) is gone.
func TestMisbehavingPodsFailAloneAndLeaveNothing(t *testing.T) {
	ctx := context.Background()
	ns, sel, port, block := healthyBeside(t, "m 1\n")
	hold := func(br *bufio.Reader) { _, _ = io.Copy(io.Discard, br) } // until the client goes
	const head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n"
	bad := map[string]func(c net.Conn, br *bufio.Reader){
		"reset":     func(c net.Conn, _ *bufio.Reader) { reset(c) },
		"no-answer": func(_ net.Conn, br *bufio.Reader) { hold(br) },
		"503-stalls": func(c net.Conn, br *bufio.Reader) {
			fmt.Fprint(c, "HTTP/1.1 503 Busy\r\nContent-Length: 100\r\n\r\nbusy")
			hold(br)
		},
		"headers-stall": func(c net.Conn, br *bufio.Reader) {
			fmt.Fprint(c, head)
			hold(br)
		},
		"body-stalls": func(c net.Conn, br *bufio.Reader) {
			fmt.Fprint(c, head+"Content-Length: 100\r\n\r\nm 1\n")
			hold(br)
		},
		"cut-body": func(c net.Conn, _ *bufio.Reader) { fmt.Fprint(c, head+"Content-Length: 100\r\n\r\nm 1\n") },
		"http10-close": func(c net.Conn, _ *bufio.Reader) {
			fmt.Fprint(c, "HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nConnection: close\r\n\r\nm 1\n")
		},
	}
	for name, serve := range bad {
		ip := block.Next()
		startRawPod(t, ip, port, func(c net.Conn, br *bufio.Reader) {
			if _, err := http.ReadRequest(br); err == nil {
				serve(c, br)
			}
		})
		if _, err := cp.CreatePod(ctx, localcluster.PodSpec{Namespace: ns, Name: name, Labels: sel, IP: ip, Ready: true}); err != nil {
			t.Fatal(err)
		}
	}
	base := leakcheck.Take()
	const timeout = 500 * time.Millisecond
	s, err := NewPodScrapingSource(ctx, cp.Client, PodScrapingSourceConfig{ServiceName: "pod", ServiceNamespace: ns, MetricsPort: int32(port), ScrapeTimeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		res, err := s.Refresh(ctx, source.RefreshSpec{})
		if err != nil {
			t.Fatal(err)
		}
		r := res[AllMetricsQuery]
		up := map[string]bool{}
		for _, st := range r.PodStatuses() {
			up[st.Pod] = st.Up
		}
		if len(up) != len(bad)+1 || !up["healthy"] || !up["http10-close"] {
			t.Fatalf("up: got %v, want every pod, healthy and http10-close up", up)
		}
		for name := range bad {
			if name != "http10-close" && up[name] {
				t.Errorf("%s: up, want it failed", name)
			}
		}
		for _, v := range r.Values {
			// The timer fires a little late; the bound is loose for a shared machine.
			if v.Labels["__name__"] == "scrape_duration_seconds" && v.Value > timeout.Seconds()+5 {
				t.Errorf("%s: scrape_duration_seconds %v, far over the %s ScrapeTimeout", v.Labels["pod"], v.Value, timeout)
			}
			if v.Labels["__name__"] == "m" && v.Labels["pod"] != "healthy" && v.Labels["pod"] != "http10-close" {
				t.Errorf("%s: a sample of a failed pod kept: %v", v.Labels["pod"], v)
			}
		}
	}
	s.Close()
	leakcheck.Back(t, base, 3, 10*time.Second)
}
