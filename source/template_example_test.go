package source_test

import (
	"fmt"

	"github.com/podscrape/podscrape/source"
)

// A model ID cannot change the query it is put in: inside a string literal it is
// escaped; outside one, only a number, duration or name is accepted.
func ExampleFillTemplate() {
	q := source.QueryTemplate{
		Name:     "model_request_count",
		Type:     source.QueryTypePromQL,
		Template: `sum(increase(vllm:request_success_total{model_name="{{.modelID}}"}[{{.retentionPeriod}}]))`,
		Params:   []string{source.ParamModelID, "retentionPeriod"},
	}
	expr, err := source.FillTemplate(q, map[string]string{source.ParamModelID: `m"} or vector(1) or x{a="`, "retentionPeriod": "1h"})
	fmt.Println(expr, err)
	_, err = source.FillTemplate(q, map[string]string{source.ParamModelID: "m", "retentionPeriod": "1h]) or vector(1"})
	fmt.Println(err)
	// Output:
	// sum(increase(vllm:request_success_total{model_name="m\"} or vector(1) or x{a=\""}[1h])) <nil>
	// query "model_request_count": parameter "retentionPeriod": value "1h]) or vector(1" stands in a range's brackets and is not a duration or number (a digit, then letters, digits and '.')
}
