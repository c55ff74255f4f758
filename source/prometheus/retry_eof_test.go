package prometheus

import (
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/podscrape/podscrape/source"
)

// TestRetriesDroppedConnection drops the connection of the first request, as a server
// closing a keep-alive connection or restarting does: before answering (the client
// reads io.EOF) or in the middle of the body (io.ErrUnexpectedEOF). Both are transient:
// the query is sent again and answers.
func TestRetriesDroppedConnection(t *testing.T) {
	tests := []struct {
		name    string
		partial string // written before the connection is closed
		want    error  // what the first attempt fails with
	}{
		{name: "closed before answering", want: io.EOF},
		{name: "closed within the body", want: io.ErrUnexpectedEOF,
			partial: "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"status\":"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newAPIServer(t, func(w http.ResponseWriter, _ *http.Request, _ string, n int) {
				if n > 1 {
					writeJSON(w, http.StatusOK, vectorOf(1, "7"))
					return
				}
				conn, buf, err := http.NewResponseController(w).Hijack()
				if err != nil {
					t.Error(err)
					return
				}
				_, _ = buf.WriteString(tt.partial)
				_ = buf.Flush()
				_ = conn.Close()
			})
			s := NewPrometheusSource(t.Context(), srv.api(t, ClientConfig{}), fastConfig())
			register(t, s, "q")
			results, err := s.Refresh(t.Context(), source.RefreshSpec{})
			if r := results["q"]; err != nil || r.Error != nil || r.FirstValue().Value != 7 {
				t.Fatalf("got %+v, %v; want 7 after a retry", r, err)
			}
			if got := len(srv.received()); got != 2 {
				t.Fatalf("got %d requests, want 2: the dropped one and its retry", got)
			}
		})
	}
}

// TestRetryBackoffCapped fails the first 16 attempts with 503: with waits doubling from
// 1ms and capped at 1ms, they fit in the 5s QueryTimeout many times over; uncapped, the
// 16th wait alone would be over 30s, and the query would give up.
func TestRetryBackoffCapped(t *testing.T) {
	const failures = 16
	srv := newAPIServer(t, func(w http.ResponseWriter, _ *http.Request, _ string, n int) {
		if n <= failures {
			writeJSON(w, http.StatusServiceUnavailable, "unavailable")
			return
		}
		writeJSON(w, http.StatusOK, vectorOf(1, "3"))
	})
	cfg := PrometheusSourceConfig{QueryTimeout: 5 * time.Second, RetryBackoff: time.Millisecond, MaxRetryBackoff: time.Millisecond}
	s := NewPrometheusSource(t.Context(), srv.api(t, ClientConfig{}), cfg)
	register(t, s, "q")
	results, err := s.Refresh(t.Context(), source.RefreshSpec{})
	if r := results["q"]; err != nil || r.Error != nil || r.FirstValue().Value != 3 {
		t.Fatalf("got %+v, %v; want 3 after %d retries at most 1.2ms apart", r, err, failures)
	}
	if got := len(srv.received()); got != failures+1 {
		t.Fatalf("got %d requests, want %d", got, failures+1)
	}
}
