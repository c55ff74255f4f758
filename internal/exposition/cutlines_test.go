package exposition

import (
	"bytes"
	"testing"
)

// Lines cut at every point a scanner reaches the end of the line (a name, a quoted
// string after an escape, a trailing backslash) fail with an error: never a panic, never
// a read past the line.
func TestParseLinesCutAtTheEnd(t *testing.T) {
	for _, tc := range []struct {
		format Format
		input  string
	}{
		{FormatText, "a{"},
		{FormatText, "a{b"},
		{FormatText, "a{b="},
		{FormatText, `a{b="`},
		{FormatText, `a{b="x\`},
		{FormatText, `a{b="\nabc`},
		{FormatText, `a{b="\\`},
		{FormatText, `a{"b"`},
		{FormatText, `a{"b",`},
		{FormatText, `{"a"`},
		{FormatText, `{`},
		{FormatOpenMetrics, "# E\n"},
		{FormatOpenMetrics, "# EO"},
		{FormatOpenMetrics, "# TYPE a counter\na_total 1 # {\"\xff"},
		{FormatOpenMetrics, "# TYPE a counter\na_total 1 # {\"b\n"},
	} {
		_, err := NewParser(Options{}).Parse(bytes.NewReader([]byte(tc.input)), tc.format, func(*Sample) error { return nil })
		if err == nil {
			t.Errorf("%s %q: no error, want one", tc.format, tc.input)
		}
	}
}

// A HELP text ending in a backslash keeps it.
func TestHelpEndingInABackslash(t *testing.T) {
	var got []string
	p := NewParser(Options{Metadata: func(m Metadata) { got = append(got, m.Help) }})
	if _, err := p.Parse(bytes.NewReader([]byte("# HELP m x\\\nm 1\n")), FormatText, func(*Sample) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != `x\` {
		t.Fatalf("help: got %q, want [x\\]", got)
	}
}

// An exemplar whose label name is quoted is checked to its end like any other.
func TestExemplarAfterQuotedLabelNameChecked(t *testing.T) {
	parse := func(in string) error {
		_, err := NewParser(Options{}).Parse(bytes.NewReader([]byte(in)), FormatOpenMetrics, func(*Sample) error { return nil })
		return err
	}
	if err := parse("# TYPE a counter\na_total 1 # {\"b.c\"=\"d\"} 1\n# EOF\n"); err != nil {
		t.Errorf("a valid exemplar with a quoted label name: %v", err)
	}
	if err := parse("# TYPE a counter\na_total 1 # {\"b.c\"=\"d\"} x\n# EOF\n"); err == nil {
		t.Error("an exemplar with a quoted label name and no value: no error, want one")
	}
}
