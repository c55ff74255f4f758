package exposition

import (
	"bytes"
	"slices"
	"strings"
	"testing"
)

// TestDifferentialScrapeLoop: what podscrape stores from an exposition is what a
// Prometheus v0.316 server's scrape loop stores (scrapeLoopStores), or both fail the
// scrape; each case where they differ on purpose says how (known).
func TestDifferentialScrapeLoop(t *testing.T) {
	for _, tc := range scrapeLoopCases {
		t.Run(tc.name, func(t *testing.T) {
			data := []byte(tc.input)
			theirs, _, theirErr := scrapeLoopStores(data, tc.format)
			ours, err := ourStores(data, tc.format)
			slices.Sort(theirs)
			slices.Sort(ours)
			same := (err == nil) == (theirErr == nil) && slices.Equal(ours, theirs)
			switch {
			case tc.known == "" && !same:
				t.Errorf("%q:\ngot  %q, %v\nwant %q, %v (Prometheus)", tc.input, ours, err, theirs, theirErr)
			case tc.known != "" && same:
				t.Errorf("%q: stored as Prometheus stores it (%q, %v), though documented as a difference: %s",
					tc.input, ours, err, tc.known)
			}
		})
	}
}

// scrapeLoopCases are expositions on which podscrape once stored what Prometheus does
// not, and those it deliberately reads otherwise (known says how).
var scrapeLoopCases = []struct {
	name   string
	format Format
	input  string
	known  string
}{
	// Label sets: promparse takes a label after a value with its comma optional; the
	// OpenMetrics parser wants one.
	{name: "labels without comma", format: FormatText, input: "a{b=\"1\" c=\"2\"} 1\n"},
	{name: "labels run together", format: FormatText, input: "a{b=\"1\"c=\"2\"} 1\n"},
	{name: "blanks around a comma", format: FormatText, input: "a{b=\"1\" , c=\"2\" ,} 1\n"},
	{name: "quoted name after a label, without comma", format: FormatText, input: "{b=\"1\" \"x\"} 1\n"},
	{name: "two commas", format: FormatText, input: "a{b=\"1\",,c=\"2\"} 1\n"},
	{name: "leading comma", format: FormatText, input: "a{,b=\"1\"} 1\n"},
	{name: "OpenMetrics labels without comma", format: FormatOpenMetrics, input: "a{b=\"1\" c=\"2\"} 1\n# EOF\n"},
	{name: "OpenMetrics labels run together", format: FormatOpenMetrics, input: "a{b=\"1\"c=\"2\"} 1\n# EOF\n"},

	// Comments: the keyword counts only after '#' and a blank (promlex's #[ \t]+).
	{name: "#TYPE is a comment", format: FormatText, input: "#TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 1\n"},
	{name: "#HELP is a comment", format: FormatText, input: "#HELP a x\na 1\n"},
	{name: "# then a tab", format: FormatText, input: "#\tTYPE h histogram\nh_bucket{le=\"1\"} 1\n"},
	{name: "blanks and tabs around the keyword", format: FormatText, input: "# \t TYPE\th\thistogram\nh_bucket{le=\"1\"} 1\n"},
	{name: "TYPE run into a word", format: FormatText, input: "# TYPEx h histogram\nh_bucket{le=\"1\"} 1\n"},
	{name: "OpenMetrics #TYPE", format: FormatOpenMetrics, input: "#TYPE h histogram\nh_bucket{le=\"1\"} 1\n# EOF\n",
		known: "an OpenMetrics comment other than metadata is ignored, where textparse fails the scrape (doc.go)"},

	// Metadata names: the text starts one byte after the name, whatever the byte.
	{name: "HELP of a dotted name", format: FormatText, input: "# HELP foo.bar Some help.\n{\"foo.bar\"} 1\n"},
	{name: "HELP then CR", format: FormatText, input: "# HELP a\r\na 1\n"},
	{name: "TYPE of a name run into another byte", format: FormatText, input: "# TYPE h.x histogram\nh_bucket{le=\"1\"} 1\n"},
	{name: "OpenMetrics HELP of a dotted name", format: FormatOpenMetrics, input: "# HELP foo.bar Some help.\n{\"foo.bar\"} 1\n# EOF\n"},

	// The label rewritten as a float follows the latest # TYPE, whatever # HELP says.
	{name: "HELP of another family after a histogram's TYPE", format: FormatText,
		input: "# TYPE h histogram\n# HELP x some help\nx{le=\"1\"} 1\n"},
	{name: "OpenMetrics HELP of another family after a histogram's TYPE", format: FormatOpenMetrics,
		input: "# TYPE h histogram\n# HELP x some help\nx{le=\"1\"} 1\n# EOF\n"},

	// Exemplars are dropped: what only the exemplar storage would refuse fails nothing.
	{name: "exemplar with an empty quoted name", format: FormatOpenMetrics, input: "a_total 1 # {\"\"=\"x\"} 1\n# EOF\n"},
	{name: "exemplar with an invalid UTF-8 quoted name", format: FormatOpenMetrics, input: "a_total 1 # {\"\xff\"=\"x\"} 1\n# EOF\n"},
	{name: "exemplar with a huge timestamp", format: FormatOpenMetrics, input: "a_total 1 # {a=\"x\"} 1 1e300\n# EOF\n"},
	{name: "exemplar with a NaN timestamp", format: FormatOpenMetrics, input: "a_total 1 # {a=\"x\"} 1 NaN\n# EOF\n"},
	{name: "exemplar with an invalid UTF-8 value", format: FormatOpenMetrics, input: "a_total 1 # {a=\"\xff\"} 1\n# EOF\n"},

	// Timestamps beyond int64 milliseconds: that sample is refused, the scrape stands.
	{name: "huge timestamp", format: FormatOpenMetrics, input: "a 1 1e300\nb 2\n# EOF\n"},
	{name: "huge negative timestamp", format: FormatOpenMetrics, input: "a 1 -1e300\nb 2\n# EOF\n"},
	{name: "timestamp at 2^63 milliseconds", format: FormatOpenMetrics, input: "a 1 9223372036854775.807\n# EOF\n"},
	{name: "huge timestamp, then a repeat", format: FormatOpenMetrics, input: "a 1 1e300\na 2\n# EOF\n"},
	{name: "infinite timestamp", format: FormatOpenMetrics, input: "a 1 +Inf\n# EOF\n"},
	{name: "text timestamp beyond int64", format: FormatText, input: "a 1 9223372036854775808\n"},

	// Empty label values are no labels.
	{name: "empty label value spells the same series", format: FormatText, input: "m{a=\"1\"} 1\nm{a=\"1\",b=\"\"} 2\n"},

	// An empty body is an empty scrape, in either format.
	{name: "empty text body", format: FormatText, input: ""},
	{name: "empty OpenMetrics body", format: FormatOpenMetrics, input: ""},
	{name: "OpenMetrics body of a newline", format: FormatOpenMetrics, input: "\n"},

	// What podscrape reads otherwise, on purpose (doc.go).
	{name: "indented line", format: FormatText, input: "  a 1\n",
		known: `leading blanks are skipped: Prometheus keeps them in the name ("  a")`},
	{name: "raw newline in a label value", format: FormatText, input: "a{b=\"x\ny\"} 1\n",
		known: "a quoted value ends at its line's end: textparse reads on into the next line"},
	{name: "NUL starts a line", format: FormatText, input: "a 1\n\x00\n",
		known: "a NUL is an invalid name: textparse takes it for the end of the exposition"},
	{name: "label given twice, once empty", format: FormatText, input: "a{e=\"\",e=\"x\"} 1\n",
		known: "a label name given twice fails the exposition: labels.Builder drops every label of a name one of whose values is empty"},
	{name: "repeat with a later timestamp", format: FormatOpenMetrics, input: "a 1 1\na 2 2\n# EOF\n"},
	{name: "text repeat with a later timestamp", format: FormatText, input: "a{b=\"1\"} 1 1000\na{b=\"1\"} 2 2000\n"},
	{name: "repeats with later, equal and earlier timestamps", format: FormatText, input: "a 1 1000\na 2 2000\na 3 2000\na 4 1500\na{b=\"\"} 5 3000\n{\"a\"} 6\n"},
	{name: "repeat with a timestamp after one without", format: FormatText, input: "a 1\na 2 2000\n"},
	{name: "repeat with a later timestamp, labels reordered", format: FormatOpenMetrics, input: "a{x=\"1\",y=\"2\"} 1 1\na{y=\"2\",x=\"1\"} 2 2\n# EOF\n"},
}

// FuzzDifferentialScrapeLoop: any input that Prometheus' scrape loop stores is stored the
// same by podscrape, but for the differences the package documents; where Prometheus
// fails the scrape, podscrape may be more lenient (doc.go). To fuzz:
//
//	go test ./internal/exposition/ -run '^$' -fuzz FuzzDifferentialScrapeLoop -fuzztime 60s -fuzzminimizetime 5s
func FuzzDifferentialScrapeLoop(f *testing.F) {
	for _, path := range textInputs {
		f.Add(readFile(f, path), false)
	}
	for _, path := range openMetricsInputs {
		f.Add(readFile(f, path), true)
	}
	for _, tc := range scrapeLoopCases {
		f.Add([]byte(tc.input), tc.format == FormatOpenMetrics)
	}
	for _, tc := range scrapeLoopSeeds {
		f.Add([]byte(tc.input), tc.format == FormatOpenMetrics)
	}
	f.Fuzz(func(t *testing.T, data []byte, om bool) {
		format := FormatText
		if om {
			format = FormatOpenMetrics
		}
		storesAsPrometheus(t, data, format)
	})
}

// storesAsPrometheus fails t when Prometheus' scrape loop stores data and podscrape
// stores something else or fails, but for the differences the package documents.
func storesAsPrometheus(t *testing.T, data []byte, format Format) {
	t.Helper()
	if knownDifference(data) {
		return
	}
	theirs, _, theirErr := scrapeLoopStores(data, format)
	if theirErr != nil {
		return // Prometheus failed: podscrape may be more lenient
	}
	ours, err := ourStores(data, format)
	if err != nil && strings.Contains(err.Error(), "duplicate label") {
		return // Prometheus took the repeat for an empty value's: known
	}
	if err != nil {
		t.Fatalf("%q: Prometheus stores %q, podscrape fails: %v", data, theirs, err)
	}
	slices.Sort(theirs)
	slices.Sort(ours)
	if !slices.Equal(ours, theirs) {
		t.Fatalf("%q:\ngot  %q\nwant %q (Prometheus)", data, ours, theirs)
	}
}

// knownDifference reports whether data holds what podscrape reads otherwise on purpose
// (the known cases of scrapeLoopCases): a NUL, an indented line, a line that leaves a
// quoted string open.
func knownDifference(data []byte) bool {
	if bytes.IndexByte(data, 0) >= 0 {
		return true
	}
	for line := range bytes.SplitSeq(data, []byte("\n")) {
		if len(line) > 0 && isBlank(line[0]) {
			return true
		}
		open := false
		for i := 0; i < len(line); i++ {
			switch {
			case open && line[i] == '\\':
				i++
			case line[i] == '"':
				open = !open
			}
		}
		if open {
			return true
		}
	}
	return false
}
