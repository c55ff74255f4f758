package serve

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
)

// Label values are written as Prometheus' codec writes them, not HTML-escaped, in query
// results and in series lists alike; the envelope's own strings are escaped, as by
// Prometheus (test/serve compares query bodies with the real server's byte for byte).
func TestJSONLabelsAsPrometheus(t *testing.T) {
	ls := labels.FromStrings("__name__", "m", "path", `<a&b>`)
	for name, data := range map[string]any{
		"vector": &queryData{ResultType: "vector", Result: promql.Vector{{Metric: ls, T: 1700000000500, F: 1e-7}}},
		"matrix": &queryData{ResultType: "matrix", Result: promql.Matrix{{Metric: ls, Floats: []promql.FPoint{{T: 1700000000005, F: 2}}}}},
		"series": labelSets{ls},
	} {
		got := string(encodeResponse(t, &response{Status: "success", Data: data, Warnings: []string{"<w>"}}))
		if !strings.Contains(got, `"path":"<a&b>"`) || !strings.Contains(got, `"warnings":["\u003cw\u003e"]`) {
			t.Errorf("%s: %s; want the label value as is and the warning escaped", name, got)
		}
		switch name {
		case "vector":
			if !strings.Contains(got, `"value":[1700000000.500,"1e-07"]`) {
				t.Errorf("vector: %s; want [1700000000.500,\"1e-07\"]", got)
			}
		case "matrix":
			if !strings.Contains(got, `"values":[[1700000000.005,"2"]]`) {
				t.Errorf("matrix: %s; want [[1700000000.005,\"2\"]]", got)
			}
		}
	}
}

// encodeResponse returns what writeJSON writes of resp.
func encodeResponse(t *testing.T, resp *response) []byte {
	t.Helper()
	stream := jsonConfig.BorrowStream(nil)
	defer jsonConfig.ReturnStream(stream)
	resp.writeTo(stream)
	if stream.Error != nil {
		t.Fatal(stream.Error)
	}
	return append([]byte(nil), stream.Buffer()...)
}

// The envelope is written as encoding/json writes Prometheus' response struct (its
// codec's configuration is encoding/json's): field order, empty fields left out,
// strings HTML-escaped; data that is not a vector, matrix or series list as json
// encodes it.
func TestEnvelopeAsEncodingJSON(t *testing.T) {
	for name, resp := range map[string]*response{
		"error":    {Status: "error", ErrorType: string(errorUnavailable), Error: `service a/b: pod <x> & "y" failed`},
		"unicode":  {Status: "error", ErrorType: string(errorBadData), Error: "bad \xff utf-8, \u2028 \u2029 \t\x01 é"},
		"warnings": {Status: "success", Data: []any{}, Warnings: []string{"w<1>", "w&2"}, Infos: []string{"i>"}},
		"no data":  {Status: "success"},
		"map":      {Status: "success", Data: map[string][]string{"b": {"<"}, "a": {}}},
		"build":    {Status: "success", Data: buildInfo{Version: "v<1>", GoVersion: "go1"}},
		"scalar":   {Status: "success", Data: &queryData{ResultType: "scalar", Result: promql.Scalar{T: 1700000000500, V: 2}}},
		"string":   {Status: "success", Data: &queryData{ResultType: "string", Result: promql.String{T: 1700000000500, V: "<s>"}}},
	} {
		want, err := json.Marshal(resp)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := encodeResponse(t, resp); string(got) != string(want) {
			t.Errorf("%s:\n got %s\nwant %s", name, got, want)
		}
	}
}
