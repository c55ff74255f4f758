package serve

import (
	"strings"
	"testing"

	"github.com/prometheus/prometheus/promql/parser"
)

func TestAnalysesParseAnExpressionOnce(t *testing.T) {
	a := newAnalyses(parser.NewParser(parser.Options{}))
	const q = `sum(rate(x{job="a"}[5m])) / sum(up{job="b"})`
	first, err := a.of(q)
	if err != nil {
		t.Fatal(err)
	}
	if len(first.selectors) != 2 || len(first.windows) != 2 {
		t.Fatalf("selectors %v, windows %v: want 2 of each", first.selectors, first.windows)
	}
	if first.windows[0].Reach == 0 || first.windows[0].Func != "rate" {
		t.Errorf("first window %+v, want rate's 5m", first.windows[0])
	}
	again, err := a.of(q)
	if err != nil {
		t.Fatal(err)
	}
	if again != first {
		t.Error("the second ask parsed the expression again")
	}
	if _, err := a.of(`sum(`); err == nil {
		t.Error("a bad expression gave no error")
	}
	if n := len(a.byExpr); n != 1 {
		t.Errorf("%d analyses kept, want 1 (a bad expression is not kept)", n)
	}
}

func TestAnalysesStayBounded(t *testing.T) {
	a := newAnalyses(parser.NewParser(parser.Options{}))
	long := "x" + strings.Repeat(" + x", maxAnalysedLen/4)
	if _, err := a.of(long); err != nil {
		t.Fatal(err)
	}
	if n := len(a.byExpr); n != 0 {
		t.Errorf("an expression of %d bytes was kept", len(long))
	}
	for i := range maxAnalyses + 1 {
		if _, err := a.of("x" + strings.Repeat(" + x", i)); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(a.byExpr); n < 1 || n > maxAnalyses {
		t.Errorf("%d analyses kept, want 1 to %d", n, maxAnalyses)
	}
}
