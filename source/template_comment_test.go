package source

import (
	"strings"
	"testing"

	"github.com/prometheus/prometheus/promql/parser"
)

// A '#' comment ends at the line break: a placeholder on the next line stands in code
// again, so a value that would change the query there is refused, and a good one fills
// in as code.
func TestFillTemplateCommentEndsAtLineBreak(t *testing.T) {
	q := QueryTemplate{Name: "q", Type: QueryTypePromQL, Template: "sum(x) # the threshold follows\n> {{.n}}"}
	got, err := FillTemplate(q, map[string]string{"n": "3"})
	if err != nil {
		t.Fatal(err)
	}
	if want := "sum(x) # the threshold follows\n> 3"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	for _, bad := range []string{"1 or vector(1)", `1 # x`, "1)"} {
		if _, err := FillTemplate(q, map[string]string{"n": bad}); err == nil || !strings.Contains(err.Error(), `"n"`) {
			t.Errorf("value %q after a comment's line: error = %v, want it refused (code, not comment)", bad, err)
		}
	}
	// Within the comment, anything but a line break is only text.
	inComment := QueryTemplate{Name: "q", Template: "x # note {{.n}}\n"}
	if _, err := FillTemplate(inComment, map[string]string{"n": "1 or vector(1)"}); err != nil {
		t.Errorf("a value within a comment: %v, want it accepted", err)
	}
}

// Prometheus' lexer ends a '#' comment at a carriage return as at a newline
// (isEndOfLine): a template whose comment ends with a lone "\r" (a template written with
// old Mac line endings, or a "\r" in a Go string) has its next placeholder in code, where
// a value that would change the query's shape must be refused. Taken for part of the
// comment, "0 or vector(1e9)" was written raw: the query sent parsed as
// `sum(x) > 0 or vector(1e9)`, a constant load where the threshold was to be.
func TestFillTemplateCommentEndsAtCarriageReturn(t *testing.T) {
	q := QueryTemplate{Name: "q", Type: QueryTypePromQL, Template: "sum(x) # the threshold follows\r> {{.n}}"}
	got, err := FillTemplate(q, map[string]string{"n": "3"})
	if err != nil {
		t.Fatal(err)
	}
	e, err := parser.NewParser(parser.Options{}).ParseExpr(got)
	if err != nil {
		t.Fatalf("filled query %q does not parse: %v", got, err)
	}
	if be, ok := e.(*parser.BinaryExpr); !ok || be.Op != parser.GTR || be.RHS.String() != "3" {
		t.Fatalf("filled query %q parses as %s, want sum(x) > 3", got, e)
	}
	for _, bad := range []string{"0 or vector(1e9)", `1 # x`, "1)"} {
		filled, err := FillTemplate(q, map[string]string{"n": bad})
		if err == nil || !strings.Contains(err.Error(), `"n"`) {
			t.Errorf("value %q after a comment ended by \\r: error = %v, want it refused (code, not comment); the query sent: %q", bad, err, filled)
		}
	}
}
