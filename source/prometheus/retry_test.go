package prometheus

import (
	"errors"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"

	"github.com/podscrape/podscrape/source"
)

// TestRetries runs a query against a real local server that fails its first requests
// with a status, then answers: transient statuses are retried within QueryTimeout, the
// others never.
func TestRetries(t *testing.T) {
	tests := []struct {
		name         string
		status       int
		body         string
		failures     int
		wantRequests int
		wantErr      string // empty: the query answers
	}{
		{name: "503 twice then success", status: http.StatusServiceUnavailable, body: "unavailable", failures: 2, wantRequests: 3},
		{name: "429 then success", status: http.StatusTooManyRequests, body: "slow down", failures: 1, wantRequests: 2},
		{name: "502 then success", status: http.StatusBadGateway, failures: 1, wantRequests: 2},
		{name: "504 then success", status: http.StatusGatewayTimeout, failures: 1, wantRequests: 2},
		{name: "422 is final", status: http.StatusUnprocessableEntity, failures: 1, wantRequests: 1,
			body:    `{"status":"error","errorType":"execution","error":"many-to-many matching not allowed"}`,
			wantErr: "execution: many-to-many matching not allowed"},
		{name: "400 is final", status: http.StatusBadRequest, failures: 1, wantRequests: 1,
			body:    `{"status":"error","errorType":"bad_data","error":"parse error"}`,
			wantErr: "bad_data: parse error"},
		{name: "401 is final", status: http.StatusUnauthorized, failures: 1, wantRequests: 1, wantErr: "client error: 401"},
		// client_golang sends a POST, and on 403 the same query as a GET; never more.
		{name: "403 is final", status: http.StatusForbidden, failures: 100, wantRequests: 2, wantErr: "client error: 403"},
		{name: "404 is final", status: http.StatusNotFound, failures: 1, wantRequests: 1, wantErr: "client error: 404"},
		{name: "500 is final, with the server's message", status: http.StatusInternalServerError, failures: 1, wantRequests: 1,
			body:    `{"status":"error","errorType":"internal","error":"storage broke"}`,
			wantErr: "server error: 500 (server: internal: storage broke)"},
		{name: "503 timeout body, then success", status: http.StatusServiceUnavailable, failures: 1, wantRequests: 2,
			body: `{"status":"error","errorType":"timeout","error":"query timed out"}`},
		// The server's own answer that it has no data (serve: every pod failed): asking
		// again within QueryTimeout changes nothing, as the pod source fails at once.
		{name: "503 unavailable body is final", status: http.StatusServiceUnavailable, failures: 100, wantRequests: 1,
			body:    `{"status":"error","errorType":"unavailable","error":"no data to answer from: service ns/vllm: every pod failed its latest scrape"}`,
			wantErr: "server error: 503 (server: unavailable: no data to answer from"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newAPIServer(t, func(w http.ResponseWriter, _ *http.Request, _ string, n int) {
				if n <= tt.failures {
					writeJSON(w, tt.status, tt.body)
					return
				}
				writeJSON(w, http.StatusOK, vectorOf(1, "5"))
			})
			s := NewPrometheusSource(t.Context(), srv.api(t, ClientConfig{}), fastConfig())
			register(t, s, "q")
			results, err := s.Refresh(t.Context(), source.RefreshSpec{})
			r := results["q"]
			if got := len(srv.received()); got != tt.wantRequests {
				t.Errorf("got %d requests, want %d", got, tt.wantRequests)
			}
			if tt.wantErr == "" {
				if err != nil || r.Error != nil || r.FirstValue().Value != 5 {
					t.Fatalf("got %+v, %v; want 5 and no error", r, err)
				}
				return
			}
			if !errors.Is(err, ErrAllQueriesFailed) || r.Error == nil || !strings.Contains(r.Error.Error(), tt.wantErr) {
				t.Fatalf("got %v (Refresh: %v), want an error containing %q", r.Error, err, tt.wantErr)
			}
		})
	}
}

// TestRetriesStopAtQueryTimeout sends to a closed port: connection refused is retried
// until QueryTimeout leaves no room for another wait, and the result names the cause.
func TestRetriesStopAtQueryTimeout(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	a, err := NewAPI(ClientConfig{URL: "http://" + addr})
	if err != nil {
		t.Fatal(err)
	}
	cfg := fastConfig()
	cfg.QueryTimeout = 200 * time.Millisecond
	s := NewPrometheusSource(t.Context(), a, cfg)
	register(t, s, "q")
	results, err := s.Refresh(t.Context(), source.RefreshSpec{})
	if !errors.Is(err, ErrAllQueriesFailed) {
		t.Fatalf("got %v, want ErrAllQueriesFailed", err)
	}
	var qerr *QueryError
	if !errors.As(results["q"].Error, &qerr) || !errors.Is(qerr, syscall.ECONNREFUSED) || qerr.Attempts < 2 {
		t.Fatalf("got %v, want connection refused after several attempts", results["q"].Error)
	}
	if !strings.Contains(qerr.Error(), addr) {
		t.Errorf("got %q, want the server's address named", qerr.Error())
	}
}

// TestSlowServer checks that a query the server does not answer within QueryTimeout
// fails with context.DeadlineExceeded, while a quick query of the same Refresh answers.
func TestSlowServer(t *testing.T) {
	srv := newAPIServer(t, func(w http.ResponseWriter, r *http.Request, query string, _ int) {
		if query == "slow" {
			<-r.Context().Done() // answers only when the client gives up
			return
		}
		writeJSON(w, http.StatusOK, vectorOf(1, "1"))
	})
	cfg := fastConfig()
	cfg.QueryTimeout = 100 * time.Millisecond
	s := NewPrometheusSource(t.Context(), srv.api(t, ClientConfig{}), cfg)
	register(t, s, "slow", "quick")
	results, err := s.Refresh(t.Context(), source.RefreshSpec{})
	if err != nil {
		t.Fatalf("got %v, want nil: quick answered", err)
	}
	var apiErr *v1.Error
	if e := results["slow"].Error; !isDeadline(e) || errors.As(e, &apiErr) {
		t.Errorf("slow: got %v, want context.DeadlineExceeded", e)
	}
	if r := results["quick"]; r.Error != nil || len(r.Values) != 1 {
		t.Errorf("quick: got %+v, want one value", r)
	}
}

func TestTransient(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{&v1.Error{Type: v1.ErrServer, Msg: "server error: 503"}, true},
		{&v1.Error{Type: v1.ErrServer, Msg: "server error: 503", Detail: `<html>Service Unavailable</html>`}, true},
		{&v1.Error{Type: v1.ErrServer, Msg: "server error: 503", Detail: `{"status":"error","errorType":"timeout","error":"query timed out"}`}, true},
		{&v1.Error{Type: v1.ErrServer, Msg: "server error: 503", Detail: `{"status":"error","errorType":"unavailable","error":"no data"}`}, false},
		{&v1.Error{Type: v1.ErrServer, Msg: "server error: 500"}, false},
		{&v1.Error{Type: v1.ErrClient, Msg: "client error: 429"}, true},
		{&v1.Error{Type: v1.ErrClient, Msg: "client error: 404"}, false},
		{&v1.Error{Type: v1.ErrBadData, Msg: "parse error"}, false},
		{&v1.Error{Type: v1.ErrExec, Msg: "server error: 503"}, false},
		{&net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, true},
		{&net.OpError{Op: "read", Err: syscall.ECONNRESET}, true},
		{errors.New("other"), false},
	}
	for _, tt := range tests {
		if got := transient(tt.err, 0); got != tt.want {
			t.Errorf("transient(%v): got %v, want %v", tt.err, got, tt.want)
		}
	}
	// A Retry-After makes a 503 unavailable transient (the server expects to answer
	// then), and no final status else.
	unavailable := &v1.Error{Type: v1.ErrServer, Msg: "server error: 503", Detail: `{"status":"error","errorType":"unavailable","error":"not scraped yet"}`}
	if !transient(unavailable, time.Second) {
		t.Errorf("transient(%v, 1s): got false, want true", unavailable)
	}
	if final := (&v1.Error{Type: v1.ErrServer, Msg: "server error: 500"}); transient(final, time.Second) {
		t.Errorf("transient(%v, 1s): got true, want false", final)
	}
}
