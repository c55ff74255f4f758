package prometheus

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// With a token configured, a successful answer far larger than the error bodies kept
// for redaction (64 KiB) is read whole: only error bodies are cut and redacted.
func TestLargeAnswerWithTokenReadWhole(t *testing.T) {
	const series = 3000 // about 150 KiB of JSON
	values := make([]string, series)
	for i := range values {
		values[i] = fmt.Sprint(i)
	}
	body := vectorOf(1, values...)
	if len(body) < 2*maxErrorBody {
		t.Fatalf("body of %d bytes, want over %d", len(body), 2*maxErrorBody)
	}
	srv := newAPIServer(t, func(w http.ResponseWriter, _ *http.Request, _ string, _ int) {
		writeJSON(w, http.StatusOK, body)
	})
	s := NewPrometheusSource(t.Context(), srv.api(t, ClientConfig{BearerToken: secret}), fastConfig())
	r := queryOnce(t, t.Context(), s)
	if r.Error != nil || len(r.Values) != series {
		t.Fatalf("got %d values, %v; want %d and no error", len(r.Values), r.Error, series)
	}
	if !strings.HasPrefix(r.Values[series-1].Labels["pod"], "p") {
		t.Fatalf("last value %+v, want a pod label", r.Values[series-1])
	}
}
