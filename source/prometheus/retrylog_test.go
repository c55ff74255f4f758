package prometheus

import (
	"net/http"
	"strings"
	"testing"
)

// The retry log line names what the server said, as the final QueryError does: a 503
// with Prometheus' JSON body (a query that timed out on the server) was logged as "server
// error: 503" alone, and an operator reading the retries could not tell an overloaded
// server from a proxy's refusal.
func TestRetryLogNamesTheServersMessage(t *testing.T) {
	ctx, logs := logged(t)
	timingOut := newAPIServer(t, func(w http.ResponseWriter, _ *http.Request, _ string, _ int) {
		writeJSON(w, http.StatusServiceUnavailable, `{"status":"error","errorType":"timeout","error":"query timed out in expression evaluation"}`)
	})
	a, err := NewAPI(ClientConfig{URL: timingOut.URL})
	if err != nil {
		t.Fatal(err)
	}
	cfg := fastConfig()
	cfg.QueryTimeout = 100e6 // 100ms of retries
	if r := queryOnce(t, ctx, NewPrometheusSource(ctx, a, cfg)); r.Error == nil {
		t.Fatal("a server timing out: got no error")
	}
	if !strings.Contains(logs(), "retrying") {
		t.Fatalf("no retry was logged:\n%s", logs())
	}
	if !strings.Contains(logs(), "timeout: query timed out in expression evaluation") {
		t.Errorf("the retry log does not say what the server answered:\n%s", logs())
	}
}
