package llmd

import (
	"testing"

	"github.com/prometheus/prometheus/promql/parser"

	"github.com/podscrape/podscrape/source"
)

func TestQueriesFillAndParse(t *testing.T) {
	params := map[string]string{
		source.ParamNamespace: "llm-d",
		source.ParamModelID:   "Qwen/Qwen3-0.6B",
		ParamRetentionPeriod:  "1h",
	}
	l := source.NewQueryList()
	if err := Register(l, Queries()); err != nil {
		t.Fatal(err)
	}
	if got, want := len(l.List()), 28; got != want {
		t.Fatalf("registered %d queries, want %d", got, want)
	}
	for _, name := range l.List() {
		expr, err := l.Build(name, params)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if _, err := parser.NewParser(parser.Options{}).ParseExpr(expr); err != nil {
			t.Errorf("%s: %s does not parse: %v", name, expr, err)
		}
	}
	if err := Register(l, VLLMQueries()[:1]); err == nil {
		t.Error("registering a query twice gave no error")
	}
}
