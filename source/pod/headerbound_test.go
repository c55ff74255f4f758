package pod

import (
	"context"
	"net/http"
	"strings"
	"testing"
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
