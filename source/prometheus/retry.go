package prometheus

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"syscall"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
)

// transient reports whether err may go away by itself, so the query is worth retrying:
// the server refused or dropped the connection (down, restarting), or answered 429 Too
// Many Requests, 502 Bad Gateway, 503 Service Unavailable or 504 Gateway Timeout. Any
// other status (400 and 422 for bad PromQL, 401, 403, 404, 500) and every other error is
// final. So is a 503 whose body is the API's own error of type unavailable: the server
// answered that it has no data to answer from (podscrape serve: every pod of a Service
// failed, or none is Ready; Prometheus: its storage not ready), which asking again
// within the query's timeout does not change, where the pod source fails at once; it
// would hold the Refresh for QueryTimeout, and make serve scrape the failing pods at
// every attempt. Unless the answer said when to ask again (retryAfter, its Retry-After,
// above zero): the server expects to answer then (RFC 9110 10.2.3; podscrape serve just
// started, a Service's first scrape under way).
//
// client_golang keeps the status of a response without a Prometheus error body only in
// its message ("server error: 503"), and the body in Detail; that is what is read here.
func transient(err error, retryAfter time.Duration) bool {
	var apiErr *v1.Error
	if errors.As(err, &apiErr) {
		var code int
		switch apiErr.Type {
		case v1.ErrServer:
			_, _ = fmt.Sscanf(apiErr.Msg, "server error: %d", &code)
		case v1.ErrClient:
			_, _ = fmt.Sscanf(apiErr.Msg, "client error: %d", &code)
		}
		switch code {
		case http.StatusServiceUnavailable:
			return retryAfter > 0 || errorType(apiErr.Detail) != "unavailable"
		case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusGatewayTimeout:
			return true
		}
		return false
	}
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
}

// errorType returns the errorType of a Prometheus API error body, "" when body is none.
func errorType(body string) string {
	var e struct {
		Status    string `json:"status"`
		ErrorType string `json:"errorType"`
	}
	if json.Unmarshal([]byte(body), &e) != nil || e.Status != "error" {
		return ""
	}
	return e.ErrorType
}
