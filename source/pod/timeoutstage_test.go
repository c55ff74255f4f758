package pod

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/podscrape/podscrape/internal/leakcheck"
	"github.com/podscrape/podscrape/internal/localcluster"
	"github.com/podscrape/podscrape/source"
)

// A pod whose request the timeout cut says how far the request got: a pod that took
// the request and never answered (vLLM's event loop blocked by a long prefill), one that
// began its headers and never finished them, an https pod that hung in the TLS
// handshake. Before, each read "timeout after 1s: context deadline exceeded", alike.
func TestTimeoutSaysHowFarTheRequestGot(t *testing.T) {
	for _, tc := range []struct {
		name   string
		scheme string
		serve  func(c net.Conn, br *bufio.Reader)
		want   string
	}{
		{"no answer", "http", func(c net.Conn, br *bufio.Reader) {
			if _, err := http.ReadRequest(br); err == nil {
				_, _ = io.Copy(io.Discard, br) // until the client goes
			}
		}, "waiting for the response"},
		{"headers never finished", "http", func(c net.Conn, br *bufio.Reader) {
			if _, err := http.ReadRequest(br); err == nil {
				_, _ = fmt.Fprint(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\n")
				_, _ = io.Copy(io.Discard, br)
			}
		}, "reading the response headers"},
		{"TLS handshake hangs", "https", func(c net.Conn, br *bufio.Reader) {
			_, _ = io.Copy(io.Discard, br) // takes the ClientHello, never answers it
		}, "in the TLS handshake"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			ns := fmt.Sprintf("pod-%d", runs.Add(1))
			if err := cp.CreateNamespace(ctx, ns); err != nil {
				t.Fatal(err)
			}
			ip := localcluster.NewAddressBlock().Next()
			p := startRawPod(t, ip, 0, tc.serve)
			port := p.ln.Addr().(*net.TCPAddr).Port
			cfg := onePodBehind(t, ns, ip, port)
			cfg.ScrapeTimeout, cfg.MetricsScheme = time.Second, tc.scheme
			if tc.scheme == "https" {
				cfg.InsecureSkipVerify = true
			}
			base := leakcheck.Take()
			s, err := NewPodScrapingSource(ctx, cp.Client, cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				s.Close()
				leakcheck.Back(t, base, 2, 10*time.Second) // nothing left of the request cut
			})
			_, err = s.Refresh(ctx, source.RefreshSpec{})
			var se *ScrapeError
			if !errors.As(err, &se) {
				t.Fatalf("got %v, want a *ScrapeError", err)
			}
			// Then the context's error, or the transport's own timer's when it fired
			// first (its TLS handshake timeout is ScrapeTimeout too, and the context's
			// timer may fire late on a busy machine): the scrape's timeout either way.
			want := fmt.Sprintf("scrape pod %s/p (%s://%s:%d/metrics): timeout after 1s: %s: ", ns, tc.scheme, ip, port, tc.want)
			if !strings.HasPrefix(se.Error(), want) || ScrapeReason(se) != ReasonTimeout || !errors.Is(se, context.DeadlineExceeded) {
				t.Errorf("got %q (reason %s), want it to start %q (reason timeout)", se, ScrapeReason(se), want)
			}
		})
	}
}
