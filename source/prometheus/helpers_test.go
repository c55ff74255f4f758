package prometheus

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"

	"github.com/podscrape/podscrape/source"
)

// apiServer is a real HTTP server on 127.0.0.1 answering /api/v1/query as handle says,
// recording every request it received.
type apiServer struct {
	*httptest.Server

	mu       sync.Mutex // protects requests
	requests []request
}

// request is what the server received.
type request struct {
	query   string
	time    string
	timeout string
	header  http.Header
}

// answerFunc writes the response to a query, the nth (from 1) the server received.
type answerFunc func(w http.ResponseWriter, r *http.Request, query string, n int)

func newAPIServer(t *testing.T, answer answerFunc) *apiServer {
	t.Helper()
	s := &apiServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.requests = append(s.requests, request{query: r.Form.Get("query"), time: r.Form.Get("time"), timeout: r.Form.Get("timeout"), header: r.Header.Clone()})
		n := len(s.requests)
		s.mu.Unlock()
		answer(w, r, r.Form.Get("query"), n)
	}))
	t.Cleanup(s.Close)
	return s
}

// received returns the requests so far; the slice is the caller's.
func (s *apiServer) received() []request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]request(nil), s.requests...)
}

// queries returns how many requests asked for query.
func (s *apiServer) count(query string) int {
	n := 0
	for _, r := range s.received() {
		if r.query == query {
			n++
		}
	}
	return n
}

// api returns a client of the server through NewAPI.
func (s *apiServer) api(t *testing.T, config ClientConfig) v1.API {
	t.Helper()
	config.URL = s.URL
	a, err := NewAPI(config)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// writeJSON writes a Prometheus API body with status code.
func writeJSON(w http.ResponseWriter, code int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = fmt.Fprint(w, body)
}

// vectorOf is a success body of one vector sample per value, labelled pod="p<i>".
func vectorOf(at float64, values ...string) string {
	b := `{"status":"success","data":{"resultType":"vector","result":[`
	for i, v := range values {
		if i > 0 {
			b += ","
		}
		b += fmt.Sprintf(`{"metric":{"pod":"p%d"},"value":[%g,%q]}`, i, at, v)
	}
	return b + `]}}`
}

// fastConfig retries quickly, so tests of retries run in milliseconds.
func fastConfig() PrometheusSourceConfig {
	return PrometheusSourceConfig{QueryTimeout: 5 * time.Second, RetryBackoff: time.Millisecond, MaxRetryBackoff: 5 * time.Millisecond}
}

// register registers PromQL queries named by their template, without params.
func register(t *testing.T, s *PrometheusSource, exprs ...string) {
	t.Helper()
	for _, e := range exprs {
		if err := s.QueryList().Register(source.QueryTemplate{Name: e, Type: source.QueryTypePromQL, Template: e}); err != nil {
			t.Fatal(err)
		}
	}
}

// eventually polls cond until it holds or 10s have passed.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10s", what)
		}
		time.Sleep(time.Millisecond) // polling with a deadline, not waiting for an outcome
	}
}

// refreshAsync runs Refresh in a goroutine and returns a channel of its outcome.
func refreshAsync(ctx context.Context, s *PrometheusSource, spec source.RefreshSpec) <-chan refreshOutcome {
	ch := make(chan refreshOutcome, 1)
	go func() {
		res, err := s.Refresh(ctx, spec)
		ch <- refreshOutcome{res, err}
	}()
	return ch
}

type refreshOutcome struct {
	results map[string]*source.MetricResult
	err     error
}

// isDeadline reports whether err is a context deadline.
func isDeadline(err error) bool { return errors.Is(err, context.DeadlineExceeded) }

// logged returns a context whose logger keeps every line, at every verbosity, and a
// function returning them so far.
func logged(t *testing.T) (context.Context, func() string) {
	var mu sync.Mutex
	var logs strings.Builder
	log := funcr.New(func(prefix, args string) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintln(&logs, prefix, args)
	}, funcr.Options{Verbosity: 10})
	return logr.NewContext(t.Context(), log), func() string {
		mu.Lock()
		defer mu.Unlock()
		return logs.String()
	}
}
