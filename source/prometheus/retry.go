package prometheus

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"syscall"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
)

// transient reports whether err may go away by itself, so the query is worth retrying:
// the server refused or dropped the connection (down, restarting), or answered 429 Too
// Many Requests, 502 Bad Gateway, 503 Service Unavailable or 504 Gateway Timeout. Any
// other status (400 and 422 for bad PromQL, 401, 403, 404, 500) and every other error is
// final.
//
// client_golang keeps the status of a response without a Prometheus error body only in
// its message ("server error: 503"); that text is what is read here.
func transient(err error) bool {
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
		case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			return true
		}
		return false
	}
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
}
