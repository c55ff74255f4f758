package serve

import (
	"sync"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/podscrape/podscrape/internal/history"
)

// analysis is what the server reads off a query's expression before the engine
// evaluates it: the expression's selectors (which Services it reads) and its windows
// (the partial-window checks). It is never written once made, and requests share it.
type analysis struct {
	selectors [][]*labels.Matcher
	windows   []history.Window
}

const (
	// maxAnalyses is how many expressions' analyses are kept; the set is emptied when it
	// is full (autoscalers and dashboards ask a handful of expressions over and over, so
	// it fills again at once with what is asked).
	maxAnalyses = 512
	// maxAnalysedLen is the longest expression whose analysis is kept.
	maxAnalysedLen = 16 << 10
)

// analyses keeps the analysis of recent expressions, so an expression asked every few
// seconds is parsed once for the server's checks. The engine still parses its own copy:
// it writes into the tree it evaluates (its step-invariant wrapping, the series it
// selects), so a tree is not shared with it.
type analyses struct {
	parser parser.Parser
	mu     sync.Mutex // protects byExpr
	byExpr map[string]*analysis
}

func newAnalyses(p parser.Parser) *analyses {
	return &analyses{parser: p, byExpr: make(map[string]*analysis)}
}

// of returns the analysis of expr, or the parser's error.
func (a *analyses) of(expr string) (*analysis, error) {
	a.mu.Lock()
	an, ok := a.byExpr[expr]
	a.mu.Unlock()
	if ok {
		return an, nil
	}
	e, err := a.parser.ParseExpr(expr)
	if err != nil {
		return nil, err
	}
	an = &analysis{selectors: parser.ExtractSelectors(e), windows: history.Windows(e)}
	if len(expr) <= maxAnalysedLen {
		a.mu.Lock()
		if len(a.byExpr) >= maxAnalyses {
			clear(a.byExpr)
		}
		a.byExpr[expr] = an
		a.mu.Unlock()
	}
	return an, nil
}
