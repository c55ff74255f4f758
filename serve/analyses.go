package serve

import (
	"sync"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/podscrape/podscrape/internal/history"
)

// analysis is what the server reads off a query's expression before the engine
// evaluates it: the expression's selectors (which Services it reads) and its windows
// (the partial-window checks). It is never written once made, and requests share it.
type analysis struct {
	selectors [][]*labels.Matcher
	windows   []history.Window // an instant query's (see windowsFor)
	// stepDependent says a duration expression reads step() or range(): a range query's
	// windows depend on its step and span (history.StepDependent).
	stepDependent bool
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
	an = &analysis{selectors: parser.ExtractSelectors(e), windows: history.Windows(e), stepDependent: history.StepDependent(e)}
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

// windowsFor returns the windows of an, the analysis of expr, for a query of step (zero:
// an instant query) from start to end: an's own, unless its durations read step() or
// range(), which the engine evaluates as the range query's step and span
// (rate(x[step()*4]) at a 15 s step reads 1m); then expr is analysed again for them.
func (a *analyses) windowsFor(an *analysis, expr string, step time.Duration, start, end time.Time) []history.Window {
	if !an.stepDependent || step == 0 {
		return an.windows
	}
	e, err := a.parser.ParseExpr(expr)
	if err != nil { // an was made from it: unreachable
		return an.windows
	}
	return history.WindowsOver(e, step, end.Sub(start))
}
