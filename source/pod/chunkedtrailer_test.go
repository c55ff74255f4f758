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

// TestChunkedBodyReadAsNetHTTPReadsIt: a pod's exposition sent chunked, with a chunk
// extension or trailers of a couple of KiB, is read as net/http's default transport (and
// Prometheus' scrape client) reads it. net/http reads a chunk's size line, and looks for
// the end of the trailers, within the connection's read buffer, and assumes it is at least
// its default 4 KiB (internal/chunked.go's maxLineLength); a 1 KiB read buffer failed such
// a pod ("header line too long", "suspiciously long trailer after chunked body").
func TestChunkedBodyReadAsNetHTTPReadsIt(t *testing.T) {
	const body = "# TYPE m gauge\nm 5\n"
	trailer := strings.Repeat("t", 2000)
	t.Run("trailer", func(t *testing.T) {
		cfg := startHandlerPod(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain; version=0.0.4")
			w.Header().Set("Trailer", "Server-Timing")
			_, _ = w.Write([]byte(body))
			w.(http.Flusher).Flush() // chunked, not a Content-Length
			w.Header().Set("Server-Timing", "render;desc="+trailer)
		}))
		expectUpWithM(t, cfg)
	})
	t.Run("chunk extension", func(t *testing.T) {
		ctx := context.Background()
		ns := fmt.Sprintf("pod-%d", runs.Add(1))
		if err := cp.CreateNamespace(ctx, ns); err != nil {
			t.Fatal(err)
		}
		ip := localcluster.NewAddressBlock().Next()
		p := startRawPod(t, ip, 0, func(c net.Conn, br *bufio.Reader) {
			for {
				if _, err := http.ReadRequest(br); err != nil {
					return
				}
				_, _ = fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nTransfer-Encoding: chunked\r\n\r\n%x;note=%s\r\n%s\r\n0\r\n\r\n",
					len(body), trailer, body)
			}
		})
		expectUpWithM(t, onePodBehind(t, ns, ip, p.ln.Addr().(*net.TCPAddr).Port))
	})
}

func expectUpWithM(t *testing.T, cfg PodScrapingSourceConfig) {
	t.Helper()
	s, err := NewPodScrapingSource(context.Background(), cp.Client, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	pods, err := s.ScrapeSeries(context.Background())
	if err != nil || len(pods) != 1 {
		t.Fatalf("ScrapeSeries: %d pods, %v", len(pods), err)
	}
	if !pods[0].Up {
		t.Fatalf("the pod is down: %v", pods[0].Err)
	}
	for _, s := range pods[0].Samples {
		if s.Labels.Get("__name__") == "m" && s.V == 5 {
			return
		}
	}
	t.Errorf("m 5 not among the pod's samples: %v", pods[0].Samples)
}
