package history

import (
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// Selects parses expr and reports whether one of its selectors matches one of series
// (labels as stored, __name__ included): whether its answer may read them. A caller
// puts what the history refused of those series (AppendStats.RefusedSeries) only on the
// expressions that select them.
func Selects(expr string, series []labels.Labels) (bool, error) {
	e, err := Parse(expr)
	if err != nil {
		return false, err
	}
	found := false
	parser.Inspect(e, func(node parser.Node, _ []parser.Node) error {
		vs, ok := node.(*parser.VectorSelector)
		if !ok || found {
			return nil
		}
		for _, lset := range series {
			if matchesAll(lset, vs.LabelMatchers) {
				found = true
				return nil
			}
		}
		return nil
	})
	return found, nil
}
