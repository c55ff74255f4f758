package pod

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
)

// A pod's error quotes the header that made it fail (a redirect's Location, an
// unsupported Content-Type or Content-Encoding) cut to a few hundred bytes: quoted whole,
// one pod answering headers as large as the transport reads (64 KiB) made an error as
// large, which serve keeps for /api/v1/targets and writes into every answer's warnings,
// and a log line per scrape.
func TestHeaderQuotedInAnErrorIsCut(t *testing.T) {
	huge := strings.Repeat("x", 60<<10) // under the transport's header bound, so the header is read
	for _, tc := range []struct {
		name string
		h    http.HandlerFunc
		want error
	}{
		{"Location", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Location", "http://elsewhere/"+huge)
			w.WriteHeader(http.StatusFound)
		}, ErrRedirect},
		{"Content-Type", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/x-"+huge)
			_, _ = w.Write([]byte("m 1\n"))
		}, ErrUnsupportedContentType},
		{"Content-Type with bad parameters", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html; "+huge)
			_, _ = w.Write([]byte("m 1\n"))
		}, ErrUnsupportedContentType},
		{"Content-Encoding", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain; version=0.0.4")
			w.Header().Set("Content-Encoding", "x-"+huge)
			_, _ = w.Write([]byte("m 1\n"))
		}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := startHandlerPod(t, tc.h)
			s, err := NewPodScrapingSource(context.Background(), cp.Client, cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(s.Close)
			pods, err := s.ScrapeSeries(context.Background())
			if err != nil || len(pods) != 1 || pods[0].Up {
				t.Fatalf("ScrapeSeries: %v, %v; want the one pod down", pods, err)
			}
			msg := pods[0].Err.Error()
			if tc.want != nil && !errors.Is(pods[0].Err, tc.want) {
				t.Errorf("error %.300q, want %v", msg, tc.want)
			}
			if len(msg) > 1<<10 || !strings.Contains(msg, "xxx...") {
				t.Errorf("error of %d bytes (%.300q...), want at most 1 KiB, the header cut with \"...\"", len(msg), msg)
			}
		})
	}
}
