package exposition

import (
	"errors"
	"strings"
	"testing"
)

// errorCase is an exposition that fails to parse, and where and why.
type errorCase struct {
	name     string
	format   Format
	input    string
	wantLine int
	wantMsg  string
}

// errorCases are malformed expositions, for TestParseErrors and FuzzParse's seeds.
func errorCases() []errorCase {
	long := "a{b=\"" + strings.Repeat("x", 200) + "\"} zz"
	return []errorCase{
		// Names.
		{"bad metric name", FormatText, "1a 1\n", 1, "invalid metric name"},
		{"no name in braces", FormatText, "{} 1\n", 1, "missing metric name"},
		{"label first in braces", FormatText, `{"a"="b"} 1`, 1, "missing metric name"},
		{"label without quotes first", FormatText, `{a="b"} 1`, 1, "missing metric name"},
		{"empty quoted name", FormatText, `{""} 1`, 1, "empty metric name"},
		{"unterminated quoted name", FormatText, `{"abc`, 1, "unterminated quoted string in metric name"},
		{"invalid UTF-8 in quoted name", FormatText, "{\"a\xff\"} 1", 1, "invalid UTF-8 in metric name"},
		{"quoted name not followed by comma", FormatText, `{"a" x} 1`, 1, `expected '=' after label name "a"`},
		{"only labels in braces", FormatText, `{b="c",d="e"} 1`, 1, "missing metric name"},
		{"bare and quoted name", FormatText, `a{"b"} 1`, 1, "metric name already set"},
		{"two quoted names", FormatText, `{"a","b"} 1`, 1, "metric name already set"},
		{"two quoted names among labels", FormatText, `{x="y","a",z="w","b"} 1`, 1, "metric name already set"},
		{"empty quoted name among labels", FormatText, `{x="y",""} 1`, 1, "empty metric name"},
		{"invalid UTF-8 in quoted name among labels", FormatText, "{x=\"y\",\"a\xff\"} 1", 1, "invalid UTF-8 in metric name"},

		// Labels.
		{"bad label name", FormatText, `a{1b="c"} 1`, 1, `invalid label name at "1b=\"c\"} 1"`},
		{"no equals", FormatText, `a{b "c"} 1`, 1, `expected '=' after label name "b"`},
		{"unquoted value", FormatText, `a{b=c} 1`, 1, `expected quoted value for label "b"`},
		{"missing comma in OpenMetrics", FormatOpenMetrics, "a{b=\"c\" d=\"e\"} 1\n# EOF\n", 1, `expected ',' or '}' after label value, found 'd'`},
		{"no label after a value", FormatText, `a{b="c" 1} 1`, 1, `invalid label name at "1} 1"`},
		{"unterminated label value", FormatText, "a{b=\"c\nd\"} 1\n", 1, "unterminated label value"},
		{"line cut in a label value", FormatText, "a 1\nb{c=\"d", 2, "unterminated label value"},
		{"line cut after a label value", FormatText, "a 1\nb{c=\"d\"", 2, "unterminated label set"},
		{"line cut after a comma", FormatText, "a 1\nb{c=\"d\",", 2, "unterminated label set"},
		{"invalid UTF-8 in label value", FormatText, "a{b=\"\xff\"} 1", 1, "invalid UTF-8 in label value"},
		{"invalid UTF-8 in quoted label name", FormatText, "a{\"\xc3\"=\"v\"} 1", 1, "invalid UTF-8 in label name"},
		{"empty quoted label name", FormatText, `a{""="v"} 1`, 1, "empty label name"},
		{"reserved label", FormatText, `a{__name__="b"} 1`, 1, `label name "__name__" is reserved`},
		{"duplicate label", FormatText, `a{x="1",y="2",x="3"} 1`, 1, `duplicate label "x"`},
		{"duplicate label among many", FormatText, `a{a="",b="",c="",d="",e="",f="",g="",h="",i="",j="",c="x"} 1`, 1, `duplicate label "c"`},
		{"duplicate quoted label", FormatText, `a{x="1","x"="2"} 1`, 1, `duplicate label "x"`},

		// Values and timestamps.
		{"missing value", FormatText, "a\n", 1, "missing value"},
		{"missing value after labels", FormatText, `a{b="c"}`, 1, "missing value"},
		{"invalid value", FormatText, "# HELP a x\n\na abc\n", 3, `invalid value "abc"`},
		{"hex float", FormatText, "a 0x1p3\n", 1, `invalid value "0x1p3"`},
		{"underscore", FormatText, "a 1_000\n", 1, `invalid value "1_000"`},
		{"out of range", FormatText, "a 1e999\n", 1, `invalid value "1e999"`},
		{"carriage return", FormatText, "a 1\r\n", 1, `invalid value "1\r"`},
		{"invalid timestamp", FormatText, "a 1 abc\n", 1, `invalid timestamp "abc"`},
		{"float timestamp in text", FormatText, "a 1 1.5\n", 1, `invalid timestamp "1.5"`},
		{"text after timestamp", FormatText, "a 1 2 3\n", 1, `unexpected text after timestamp: "3"`},
		{"comment after value in text", FormatText, "a 1 # {x=\"y\"} 1\n", 1, `invalid timestamp "#"`},

		// Metadata.
		{"unknown type", FormatText, "# TYPE a gauges\n", 1, `unknown metric type "gauges"`},
		{"name run into text in TYPE", FormatText, "# TYPE a-b gauge\n", 1, `unknown metric type "b gauge"`},
		{"bad name in OpenMetrics TYPE", FormatOpenMetrics, "# TYPE a-b gauge\n# EOF\n", 1, "invalid metric name in comment"},
		{"bad start of name in HELP", FormatText, "# HELP -a text\n", 1, "invalid metric name in comment"},
		{"invalid UTF-8 in HELP", FormatText, "# HELP a \xff\n", 1, "invalid UTF-8 in HELP"},
		{"untyped in OpenMetrics", FormatOpenMetrics, "# TYPE a untyped\n# EOF\n", 1, `unknown metric type "untyped"`},
		{"upper case in OpenMetrics", FormatOpenMetrics, "# TYPE a GAUGE\n# EOF\n", 1, `unknown metric type "GAUGE"`},
		{"empty type in OpenMetrics", FormatOpenMetrics, "# TYPE a \n# EOF\n", 1, `unknown metric type ""`},
		{"HELP without text", FormatOpenMetrics, "# HELP a\n# EOF\n", 1, "missing text in HELP"},
		{"TYPE without text", FormatOpenMetrics, "# TYPE a\n# EOF\n", 1, "missing text in TYPE"},
		{"UNIT without text", FormatOpenMetrics, "# UNIT a_s\n# EOF\n", 1, "missing text in UNIT"},
		{"HELP without name", FormatOpenMetrics, "# HELP\n# EOF\n", 1, "missing metric name in HELP"},
		{"TYPE without name", FormatOpenMetrics, "# TYPE \n# EOF\n", 1, "missing metric name in TYPE"},
		{"unit not a suffix", FormatOpenMetrics, "# UNIT a_seconds second\na_seconds 1\n# EOF\n", 1, `unit "second" is not a suffix of metric name "a_seconds"`},
		{"unit without underscore", FormatOpenMetrics, "# UNIT aseconds seconds\n# EOF\n", 1, `unit "seconds" is not a suffix of metric name "aseconds"`},
		{"unit is the name", FormatOpenMetrics, "# UNIT seconds seconds\n# EOF\n", 1, `unit "seconds" is not a suffix of metric name "seconds"`},
		{"unit of a quoted name", FormatOpenMetrics, "# UNIT \"a.b\" b\n# EOF\n", 1, `unit "b" is not a suffix of metric name "a.b"`},

		// OpenMetrics.
		{"missing EOF", FormatOpenMetrics, "a 1\nb 2\n", 3, "missing # EOF"},
		{"missing EOF, no final newline", FormatOpenMetrics, "a 1\nb 2", 3, "missing # EOF"},
		{"OpenMetrics of a blank line", FormatOpenMetrics, "\n", 2, "missing # EOF"},
		{"sample after EOF", FormatOpenMetrics, "a 1\n# EOF\nb 2\n", 3, "unexpected data after # EOF"},
		{"blank line after EOF", FormatOpenMetrics, "# EOF\n\n", 2, "unexpected data after # EOF"},
		{"blank after EOF", FormatOpenMetrics, "a 1\n# EOF \n", 2, "unexpected data after # EOF"},
		{"text after EOF", FormatOpenMetrics, "# EOF x\n", 1, "unexpected data after # EOF"},
		{"EOF run into text", FormatOpenMetrics, "# EOFx\n", 1, "unexpected data after # EOF"},
		{"NaN timestamp", FormatOpenMetrics, "a 1 NaN\n# EOF\n", 1, `invalid timestamp "NaN"`},
		{"infinite timestamp", FormatOpenMetrics, "a 1 -Inf\n# EOF\n", 1, `invalid timestamp "-Inf"`},
		{"huge timestamp in text", FormatText, "a 1 9223372036854775808\n", 1, `invalid timestamp "9223372036854775808"`},
		{"exemplar NaN timestamp", FormatOpenMetrics, "a_total 1 # {} 1 NaN\n# EOF\n", 1, "invalid exemplar: bad timestamp"},
		{"exemplar without braces", FormatOpenMetrics, "a_total 1 # x\n# EOF\n", 1, "invalid exemplar: want # {labels} value [timestamp]"},
		{"exemplar without value", FormatOpenMetrics, "a_total 1 # {a=\"b\"}\n# EOF\n", 1, "invalid exemplar: bad value"},
		{"exemplar bad label", FormatOpenMetrics, "a_total 1 # {a=b} 1\n# EOF\n", 1, "invalid exemplar: want quoted label value"},
		{"exemplar invalid UTF-8", FormatOpenMetrics, "a_total 1 # {a=\"\xff\"} 1\n# EOF\n", 1, "invalid exemplar: invalid UTF-8 in label value"},
		{"exemplar trailing text", FormatOpenMetrics, "a_total 1 # {} 1 2 3\n# EOF\n", 1, "invalid exemplar: unexpected text after timestamp"},
		{"text after OpenMetrics timestamp", FormatOpenMetrics, "a 1 2 3\n# EOF\n", 1, `unexpected text after timestamp: "3"`},

		// Quoting of the offending line.
		{"long line", FormatText, long, 1, `invalid value "zz"`},
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range errorCases() {
		t.Run(tc.name, func(t *testing.T) {
			// The same error whatever Keep says: a line skipped is checked as one kept.
			var pe *ParseError
			for _, keep := range []struct {
				name string
				keep func(name, family string) bool
			}{
				{"nil", nil},
				{"all", func(string, string) bool { return true }},
				{"none", func(string, string) bool { return false }},
			} {
				_, err := NewParser(Options{Keep: keep.keep}).Parse(strings.NewReader(tc.input), tc.format, nil)
				if !errors.As(err, &pe) {
					t.Fatalf("Keep %s: got error %v, want a *ParseError", keep.name, err)
				}
				if pe.Line != tc.wantLine || pe.Msg != tc.wantMsg {
					t.Errorf("Keep %s: got line %d %q, want line %d %q", keep.name, pe.Line, pe.Msg, tc.wantLine, tc.wantMsg)
				}
			}
			lines := strings.Split(tc.input, "\n")
			wantInput := ""
			if tc.wantLine <= len(lines) && tc.wantMsg != "missing # EOF" {
				wantInput = lines[tc.wantLine-1]
			}
			if len(wantInput) > maxQuotedInput {
				wantInput = wantInput[:maxQuotedInput] + "..."
			}
			if pe.Input != wantInput {
				t.Errorf("got input %q, want %q", pe.Input, wantInput)
			}
		})
	}
}

func TestParseErrorString(t *testing.T) {
	for _, tc := range []struct {
		err  *ParseError
		want string
	}{
		{&ParseError{Line: 3, Input: `a abc`, Msg: `invalid value "abc"`}, `line 3: invalid value "abc": "a abc"`},
		{&ParseError{Line: 7, Msg: "missing # EOF"}, "line 7: missing # EOF"},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
}
