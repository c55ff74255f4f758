package main

import (
	"fmt"
	"strings"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/podscrape/podscrape/source"
)

// selectorCheck is a count() of one selector of the user's query, evaluated on the pods
// in the same Refresh: when the query has no series yet because its window is not
// covered, an empty count tells a selector that matches nothing the pods expose (a
// mistyped name, which no window will fix) from one waiting for its samples.
type selectorCheck struct {
	name     string // the query name it is registered under
	selector string // as the user would write it
}

// registerSelectorChecks registers a selectorCheck per distinct selector of expr (params
// filled in) on list, and returns them.
func registerSelectorChecks(list *source.QueryList, expr string) ([]selectorCheck, error) {
	e, err := parser.NewParser(parser.Options{}).ParseExpr(expr)
	if err != nil {
		return nil, nil // validate refused it already; nothing to check
	}
	var checks []selectorCheck
	seen := map[string]bool{}
	for _, ms := range parser.ExtractSelectors(e) {
		vs := &parser.VectorSelector{LabelMatchers: ms}
		for _, m := range ms {
			if m.Name == labels.MetricName && m.Type == labels.MatchEqual {
				vs.Name = m.Value
			}
		}
		sel := vs.String()
		if seen[sel] || strings.Contains(sel, "{{") {
			continue // a "{{" in a label value would read as a placeholder
		}
		seen[sel] = true
		c := selectorCheck{name: fmt.Sprintf("%s/selector/%d", queryName, len(checks)), selector: sel}
		if err := list.Register(source.QueryTemplate{Name: c.name, Type: source.QueryTypePromQL, Template: "count(" + sel + ")"}); err != nil {
			return nil, err
		}
		checks = append(checks, c)
	}
	return checks, nil
}
