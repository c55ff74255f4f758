package serve

import (
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
		b, err := jsonConfig.Marshal(&response{Status: "success", Data: data, Warnings: []string{"<w>"}})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got := string(b)
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
