package prometheus

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// vmConcurrencyRefusal is what vmselect answers a query that waited its
// -search.maxQueueDuration for a slot under -search.maxConcurrentRequests
// (VictoriaMetrics/VictoriaMetrics, branch cluster, app/vmselect/main.go:236-246): 429,
// "Retry-After: 10", and its message as plain text (lib/httpserver Errorf, http.Error).
func vmConcurrencyRefusal(w http.ResponseWriter, retryAfter string) {
	w.Header().Add("Retry-After", retryAfter)
	http.Error(w, "couldn't start executing the request in 10.000 seconds, since -search.maxConcurrentRequests=16 concurrent requests are executed. "+
		"Possible solutions: to reduce query load; to add more compute resources to the server; to increase -search.maxQueueDuration=10s; "+
		"to increase -search.maxQueryDuration; to increase -search.maxConcurrentRequests", http.StatusTooManyRequests)
}

// A refusal saying when to ask again (Retry-After) is retried no sooner: the backoff's
// 1 ms retries of an overloaded server only added to its load (hundreds of requests in
// the query's timeout). A Retry-After past the query's timeout fails the query at once,
// after one request, the error saying what the server asked.
func TestRetryAfterIsHonoured(t *testing.T) {
	t.Run("past the query's timeout", func(t *testing.T) {
		srv := newAPIServer(t, func(w http.ResponseWriter, _ *http.Request, _ string, _ int) { vmConcurrencyRefusal(w, "10") })
		cfg := fastConfig()
		cfg.QueryTimeout = 2 * time.Second
		r := queryOnce(t, t.Context(), NewPrometheusSource(t.Context(), srv.api(t, ClientConfig{}), cfg))
		if n := len(srv.received()); n != 1 {
			t.Errorf("%d requests; want 1: the server asked for none before 10s, past the 2s timeout", n)
		}
		// Said only when the query gives up at once, not after waiting out its timeout.
		if r.Error == nil || !strings.Contains(r.Error.Error(), "retry after 10s, past the query's timeout") {
			t.Errorf("got %v; want an error saying the server asks to retry after 10s", r.Error)
		}
	})
	t.Run("within the query's timeout", func(t *testing.T) {
		var mu sync.Mutex
		var at []time.Time
		srv := newAPIServer(t, func(w http.ResponseWriter, _ *http.Request, _ string, n int) {
			mu.Lock()
			at = append(at, time.Now())
			mu.Unlock()
			if n == 1 {
				vmConcurrencyRefusal(w, "1")
				return
			}
			writeJSON(w, http.StatusOK, vectorOf(1, "7"))
		})
		r := queryOnce(t, t.Context(), NewPrometheusSource(t.Context(), srv.api(t, ClientConfig{}), fastConfig()))
		if r.Error != nil || r.FirstValue().Value != 7 {
			t.Fatalf("got values %v, Error %v; want 7 after one retry", r.Values, r.Error)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(at) != 2 || at[1].Sub(at[0]) < time.Second {
			t.Errorf("requests at %v; want two, the second at least 1s after the first", at)
		}
	})
}

// Retry-After is read in both of its forms, delay-seconds and an HTTP date (RFC 9110
// 10.2.3); nothing else is a wait.
func TestRetryAfterValues(t *testing.T) {
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		value string
		want  time.Duration
	}{
		{"", 0},
		{"10", 10 * time.Second},
		{" 3 ", 3 * time.Second},
		{"0", 0},
		{"-5", 0},
		{"1.5", 0},
		{"99999999999999999", 24 * time.Hour},
		{"Mon, 07 Dec 2026 10:00:30 GMT", 30 * time.Second},
		{"Mon, 07 Dec 2026 09:59:00 GMT", 0},
		{"soon", 0},
	} {
		if got := retryAfter(tc.value, now); got != tc.want {
			t.Errorf("retryAfter(%q) = %s, want %s", tc.value, got, tc.want)
		}
	}
}

// serveNotScrapedYet is what podscrape serve answers, right after it starts, a query of a
// Service whose first scrape is under way: 503, errorType unavailable, and (retryAfter
// not empty) when to ask again.
func serveNotScrapedYet(w http.ResponseWriter, retryAfter string) {
	if retryAfter != "" {
		w.Header().Set("Retry-After", retryAfter)
	}
	writeJSON(w, http.StatusServiceUnavailable, `{"status":"error","errorType":"unavailable","error":"no data to answer from: service ns/vllm: not scraped yet"}`)
}

// A 503 unavailable is the server's answer that it has no data, final (TestRetries), unless
// it says when to ask again: then the server expects to answer by then (serve's Service
// not scraped yet), and the query asks again no sooner, within its timeout, and answers.
func TestUnavailableWithRetryAfterIsRetried(t *testing.T) {
	for _, tc := range []struct {
		name, retryAfter string
		wantRequests     int
	}{
		{"with Retry-After", "1", 2},
		{"without", "", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var at []time.Time
			srv := newAPIServer(t, func(w http.ResponseWriter, _ *http.Request, _ string, n int) {
				mu.Lock()
				at = append(at, time.Now())
				mu.Unlock()
				if n == 1 {
					serveNotScrapedYet(w, tc.retryAfter)
					return
				}
				writeJSON(w, http.StatusOK, vectorOf(1, "7"))
			})
			r := queryOnce(t, t.Context(), NewPrometheusSource(t.Context(), srv.api(t, ClientConfig{}), fastConfig()))
			mu.Lock()
			defer mu.Unlock()
			if len(at) != tc.wantRequests {
				t.Fatalf("%d requests, want %d", len(at), tc.wantRequests)
			}
			if tc.retryAfter == "" {
				if r.Error == nil || !strings.Contains(r.Error.Error(), "not scraped yet") {
					t.Errorf("got values %v, Error %v; want serve's 503 at once", r.Values, r.Error)
				}
				return
			}
			if r.Error != nil || r.FirstValue().Value != 7 {
				t.Errorf("got values %v, Error %v; want 7 after one retry", r.Values, r.Error)
			}
			if at[1].Sub(at[0]) < time.Second {
				t.Errorf("requests at %v; want the second at least 1s after the first", at)
			}
		})
	}
}
