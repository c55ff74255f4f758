package pod

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/podscrape/podscrape/internal/localcluster"
	"github.com/podscrape/podscrape/source"
)

// A connection that fails while the body is read (reset by the pod, closed before its
// Content-Length, a chunked encoding broken) is the connection's failure, not the
// exposition's: the pod's error says the body's reading failed, and where, never
// "parse". Before, each read "parse text format body: read exposition: line 2: ...",
// and an operator looked for a malformed exposition.
func TestBodyReadFailureIsNotAParseError(t *testing.T) {
	ctx := context.Background()
	const healthyBody = "# TYPE m gauge\nm{a=\"1\"} 1\nm{a=\"2\"} 2\n"
	ns, sel, port, block := healthyBeside(t, healthyBody)
	const head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n"
	pods := map[string]struct {
		serve func(c net.Conn)
		msg   string // in the error, after "read body: "
	}{
		"reset-mid-body": {func(c net.Conn) {
			_, _ = fmt.Fprint(c, head+"Content-Length: 1000\r\n\r\nm 1\n")
			reset(c)
		}, "connection reset by peer"},
		"closed-mid-body": {func(c net.Conn) {
			_, _ = fmt.Fprint(c, head+"Content-Length: 1000\r\n\r\nm 1\n")
		}, "unexpected EOF"},
		"broken-chunks": {func(c net.Conn) {
			_, _ = fmt.Fprint(c, head+"Transfer-Encoding: chunked\r\n\r\n4\r\nm 1\n\r\nzz\r\n")
		}, "invalid byte in chunk length"},
	}
	urls := map[string]string{}
	for name, p := range pods {
		ip := block.Next()
		startRawPod(t, ip, port, func(c net.Conn, br *bufio.Reader) {
			if _, err := http.ReadRequest(br); err == nil {
				p.serve(c)
			}
		})
		if _, err := cp.CreatePod(ctx, localcluster.PodSpec{Namespace: ns, Name: name, Labels: sel, IP: ip, Ready: true}); err != nil {
			t.Fatal(err)
		}
		urls[name] = fmt.Sprintf("http://%s:%d/metrics", ip, port)
	}
	s, err := NewPodScrapingSource(ctx, cp.Client, PodScrapingSourceConfig{ServiceName: "pod", ServiceNamespace: ns, MetricsPort: int32(port)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	res, err := s.Refresh(ctx, source.RefreshSpec{})
	if err != nil {
		t.Fatal(err)
	}
	r := res[AllMetricsQuery]
	got := map[string]*ScrapeError{}
	var joined interface{ Unwrap() []error }
	if !errors.As(r.Error, &joined) {
		t.Fatalf("got %v, want the failed pods' errors joined", r.Error)
	}
	for _, e := range joined.Unwrap() {
		var se *ScrapeError
		if !errors.As(e, &se) {
			t.Fatalf("got %v, want a *ScrapeError", e)
		}
		got[se.PodName()] = se
	}
	for name, p := range pods {
		se := got[name]
		if se == nil {
			t.Errorf("%s: no error, want its failure", name)
			continue
		}
		msg := se.Error()
		if want := fmt.Sprintf("scrape pod %s/%s (%s): read body: ", ns, name, urls[name]); !strings.HasPrefix(msg, want) ||
			!strings.Contains(msg, p.msg) || strings.Contains(msg, "parse") {
			t.Errorf("%s: got %q, want it to start %q and say %q, never parse", name, msg, want, p.msg)
		}
		if reason := ScrapeReason(se); reason != ReasonConnect {
			t.Errorf("%s: reason %q, want %q", name, reason, ReasonConnect)
		}
	}
	// The healthy pod's every sample is kept.
	n := 0
	for _, v := range r.Values {
		if v.Labels["pod"] == "healthy" && v.Labels["__name__"] == "m" {
			n++
		}
	}
	if n != 2 {
		t.Errorf("the healthy pod: %d samples of m, want 2", n)
	}
}
