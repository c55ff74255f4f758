package serve

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// summing are the functions whose answer over a shorter span is a smaller number, not a
// noisier one: over a partial window they answer less than the truth.
var summing = map[string]bool{
	"increase": true, "delta": true, "sum_over_time": true, "count_over_time": true,
	"changes": true, "resets": true,
}

// window is a stretch of time an expression reads back from each evaluation time: a
// range selector's or a subquery's range, or an instant selector's offset, with the
// ranges and offsets of the subqueries around it.
type window struct {
	text     string // the function call or selector, for messages
	fn       string // the function the range feeds; "" for an offset selector
	rng      time.Duration
	back     time.Duration // from an evaluation time to the window's start
	matchers [][]*labels.Matcher
}

// windows returns expr's windows. Selectors with an @ modifier are left out: their
// windows do not move with the evaluation time.
func windows(expr parser.Expr) []window {
	var out []window
	parser.Inspect(expr, func(node parser.Node, path []parser.Node) error {
		var w window
		switch n := node.(type) {
		case *parser.MatrixSelector:
			vs, ok := n.VectorSelector.(*parser.VectorSelector)
			if !ok || vs.Timestamp != nil || vs.StartOrEnd != 0 {
				return nil
			}
			w = window{text: n.String(), rng: n.Range, back: n.Range + vs.OriginalOffset, matchers: [][]*labels.Matcher{vs.LabelMatchers}}
		case *parser.SubqueryExpr:
			if n.Timestamp != nil || n.StartOrEnd != 0 {
				return nil
			}
			w = window{text: n.String(), rng: n.Range, back: n.Range + n.OriginalOffset, matchers: parser.ExtractSelectors(n.Expr)}
		case *parser.VectorSelector:
			if n.OriginalOffset <= 0 || n.Timestamp != nil || n.StartOrEnd != 0 || inRange(path) {
				return nil
			}
			w = window{text: n.String(), back: n.OriginalOffset, matchers: [][]*labels.Matcher{n.LabelMatchers}}
		default:
			return nil
		}
		if len(path) > 0 {
			if call, ok := path[len(path)-1].(*parser.Call); ok {
				w.fn, w.text = call.Func.Name, call.String()
			}
		}
		for _, p := range path {
			if sq, ok := p.(*parser.SubqueryExpr); ok {
				w.back += sq.Range + sq.OriginalOffset
			}
		}
		out = append(out, w)
		return nil
	})
	return out
}

// inRange reports whether a selector's parent is a range selector.
func inRange(path []parser.Node) bool {
	if len(path) == 0 {
		return false
	}
	_, ok := path[len(path)-1].(*parser.MatrixSelector)
	return ok
}

// partialWindows checks each window of expr, evaluated from start, against the histories
// of the Services it reads. A window reaching back before a Service's oldest scrape by
// more than the Service's interval (Prometheus extrapolates over a gap that short) is
// partial: for a summing function or an offset it is an error (HTTP 422) unless
// allowPartial, otherwise a warning.
func (s *Server) partialWindows(ctx context.Context, expr parser.Expr, start time.Time) (warnings []string, err error) {
	var errs []string
	for _, w := range windows(expr) {
		from := start.Add(-w.back)
		for _, svc := range s.services {
			oldest, _ := svc.hist.Span()
			if oldest.IsZero() || !from.Add(svc.cfg.Interval).Before(oldest) {
				continue
			}
			read := false
			for _, m := range w.matchers {
				ok, rerr := svc.reads(ctx, m)
				if rerr != nil {
					return nil, fmt.Errorf("service %s: %w", svc.key, rerr)
				}
				if ok {
					read = true
					break
				}
			}
			if !read {
				continue
			}
			held := start.Sub(oldest).Truncate(time.Millisecond)
			desc := fmt.Sprintf("%s reads back %s from %s, but service %s has samples only since %s (%s)",
				w.text, model.Duration(w.back), start.UTC().Format(time.RFC3339), svc.key, oldest.UTC().Format(time.RFC3339), held)
			switch {
			case (w.fn == "" || summing[w.fn]) && !s.cfg.AllowPartialWindows:
				errs = append(errs, fmt.Sprintf("partial window: %s: %s would answer less than the truth", desc, what(w)))
			case w.fn == "" || summing[w.fn]:
				warnings = append(warnings, fmt.Sprintf("partial window: %s: the answer covers only that span and is smaller than over the full window", desc))
			default:
				warnings = append(warnings, fmt.Sprintf("partial window: %s: the answer is computed over that shorter span", desc))
			}
		}
	}
	if len(errs) > 0 {
		return warnings, &apiError{errorExec, errors.New(strings.Join(errs, "; "))}
	}
	return warnings, nil
}

// what names what a partial window's answer is.
func what(w window) string {
	if w.fn == "" {
		return "the offset"
	}
	return w.fn
}
