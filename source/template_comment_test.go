package source

import (
	"strings"
	"testing"
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
