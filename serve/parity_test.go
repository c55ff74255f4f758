package serve_test

import (
	"net/http"
	"testing"

	"github.com/podscrape/podscrape/serve"
)

// The expectations of this file are Prometheus v0.316.0's answers (web/api/v1, web/web.go),
// checked against bin/prometheus/prometheus run on loopback.

// utf8Labels exposes a label whose name only the UTF-8 scheme allows, beside a legacy one.
const utf8Labels = `# TYPE reqs_total counter
reqs_total{"model.name"="dotted",model_name="plain"} 1
`

func TestLabelValuesUnescapesUNames(t *testing.T) {
	svc := newService(t, "vllm", 1, utf8Labels)
	base := startServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}})
	for _, tc := range []struct {
		name, path string // path's name segment is escaped as a client sends it
		code       int
		data, err  string
	}{
		{"UTF-8 name, value-encoded as Grafana asks", "U__model_2e_name", http.StatusOK, `["dotted"]`, ""},
		{"legacy name, value-encoded", "U__model__name", http.StatusOK, `["plain"]`, ""},
		{"UTF-8 name as is", "model.name", http.StatusOK, `["dotted"]`, ""},
		{"legacy name as is", "model_name", http.StatusOK, `["plain"]`, ""},
		// Unescaped, then validated: U__ is the empty name.
		{"empty once unescaped", "U__", http.StatusBadRequest, "", `invalid label name: ""`},
		// A bad escape is left as it is, which is a valid UTF-8 name without values.
		{"bad escape", "U__model_zz_name", http.StatusOK, `[]`, ""},
		{"invalid UTF-8", "%ff", http.StatusBadRequest, "", `invalid label name: "\xff"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, r := call(t, http.MethodGet, base, "/api/v1/label/"+tc.path+"/values", nil)
			if code != tc.code || string(r.Data) != tc.data || r.Error != tc.err {
				t.Errorf("/api/v1/label/%s/values: got %d %s %q, want %d %s %q", tc.path, code, r.Data, r.Error, tc.code, tc.data, tc.err)
			}
		})
	}
}
