package pod

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/podscrape/podscrape/internal/localcluster"
)

// TestHostilePodsHeadersAreBounded: a pod answers with megabytes of headers: a redirect
// whose Location, or a Content-Type, quotes the token it was sent and then goes on. The
// error quoted the header whole, and serve puts each failed pod's error into the warning
// (or the 503) of every query reading its Service, into /api/v1/targets and the log: one
// pod made every answer megabytes long, and every reading of the error redacted the token
// from megabytes again. The transport now refuses response headers past 64 KiB, as an
// Envoy in front of the pods would (60 KiB), and the pod fails with a short error.
func TestHostilePodsHeadersAreBounded(t *testing.T) {
	const token = "hostile-header-canary-token"
	long := "/" + token + strings.Repeat("a", 4<<20)
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
	}{
		{"Location", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Location", long)
			w.WriteHeader(http.StatusFound)
		}},
		{"Content-Type", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html"+long)
			_, _ = w.Write([]byte("m 1\n"))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := startHandlerPod(t, tc.handler)
			cfg.BearerToken = token
			s, err := NewPodScrapingSource(context.Background(), cp.Client, cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(s.Close)
			pods, err := s.ScrapeSeries(context.Background())
			if len(pods) != 1 || pods[0].Up || pods[0].Err == nil {
				t.Fatalf("ScrapeSeries: %+v, %v; want the pod down with an error", pods, err)
			}
			if msg := pods[0].Err.Error(); len(msg) > 4<<10 || strings.Contains(msg, token) {
				t.Errorf("the pod's error is %d bytes (want a few hundred, without the token): %.300s...", len(msg), msg)
			}
		})
	}
}

// TestMalformedAnswerIsQuotedShort: a pod whose answer is not HTTP as net/http reads it
// (a status line or a header line of 60 KB, under the 64 KiB header bound; a server of
// another protocol on the port) got an error quoting the whole line, as net/http quotes
// it: 60 KB in every answer naming the pod's failure, as the headers were.
func TestMalformedAnswerIsQuotedShort(t *testing.T) {
	const token = "k7Qz9-answer-canary-token"
	long := token + strings.Repeat("x", 60000)
	for _, tc := range []struct {
		name, answer, want string
	}{
		{"status code", "HTTP/1.1 2" + long + "\r\n\r\n", `malformed HTTP status code "2[REDACTED]xxx`},
		{"status line", long + "\r\n\r\n", `malformed HTTP response "[REDACTED]xxx`},
		{"header line", "HTTP/1.1 200 OK\r\n" + long + "\r\n\r\n", `malformed MIME header: missing colon: "[REDACTED]xxx`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			ns := fmt.Sprintf("pod-%d", runs.Add(1))
			if err := cp.CreateNamespace(ctx, ns); err != nil {
				t.Fatal(err)
			}
			ip := localcluster.NewAddressBlock().Next()
			p := startRawPod(t, ip, 0, func(c net.Conn, br *bufio.Reader) {
				if _, err := http.ReadRequest(br); err == nil {
					_, _ = fmt.Fprint(c, tc.answer)
				}
			})
			port := p.ln.Addr().(*net.TCPAddr).Port
			cfg := onePodBehind(t, ns, ip, port)
			cfg.BearerToken = token
			s, err := NewPodScrapingSource(ctx, cp.Client, cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(s.Close)
			pods, err := s.ScrapeSeries(ctx)
			if len(pods) != 1 || pods[0].Up || pods[0].Err == nil {
				t.Fatalf("ScrapeSeries: %+v, %v; want the pod down with an error", pods, err)
			}
			msg := pods[0].Err.Error()
			if len(msg) > 1<<10 || !strings.Contains(msg, tc.want) || strings.Contains(msg, token) {
				t.Errorf("the pod's error is %d bytes (want under 1 KiB, quoting %q, without the token): %.300s...", len(msg), tc.want, msg)
			}
			if ScrapeReason(pods[0].Err) != ReasonConnect {
				t.Errorf("reason %s, want %s", ScrapeReason(pods[0].Err), ReasonConnect)
			}
		})
	}
}
