package history

import (
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// Needs is what an expression reads from history.
type Needs struct {
	// All says some selector does not name its metric with an equality matcher, so
	// any series may be read.
	All bool
	// Names are the metric names its selectors name, in order of appearance.
	Names []string
	// Window is the longest time the expression looks back: its longest range or
	// subquery range, plus offsets. Zero for an expression of instant selectors alone.
	Window time.Duration
}

// Analyze parses expr and returns what it reads.
func Analyze(expr string) (Needs, error) {
	e, err := Parse(expr)
	if err != nil {
		return Needs{}, err
	}
	var n Needs
	names := map[string]struct{}{}
	parser.Inspect(e, func(node parser.Node, path []parser.Node) error {
		switch x := node.(type) {
		case *parser.VectorSelector:
			name := ""
			for _, m := range x.LabelMatchers {
				if m.Name == labels.MetricName && m.Type == labels.MatchEqual {
					name = m.Value
				}
			}
			if name == "" {
				n.All = true
			} else if _, ok := names[name]; !ok {
				names[name] = struct{}{}
				n.Names = append(n.Names, name)
			}
			back := duration(x.OriginalOffset, x.OriginalOffsetExpr)
			for _, p := range path {
				switch q := p.(type) {
				case *parser.MatrixSelector:
					back += duration(q.Range, q.RangeExpr)
				case *parser.SubqueryExpr:
					back += duration(q.Range, q.RangeExpr) + duration(q.OriginalOffset, q.OriginalOffsetExpr)
				}
			}
			n.Window = max(n.Window, back)
		}
		return nil
	})
	return n, nil
}
