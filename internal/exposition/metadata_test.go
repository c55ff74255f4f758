package exposition

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/textparse"
)

// TestParseMetadata: Options.Metadata gets each family's # TYPE, # HELP and # UNIT, once
// its metadata lines end, before its first sample, whatever Keep says.
func TestParseMetadata(t *testing.T) {
	for _, tc := range []struct {
		name   string
		format Format
		input  string
		want   []string // metadata as family|type|help|unit, and samples by name, in order
	}{
		{
			name: "text", format: FormatText,
			input: "# HELP a_total Requests, \\\\ and \\n and \\\" and \\t.\n# TYPE a_total counter\na_total 1\n" +
				"# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\n# HELP h later help\nh_count 1\n" +
				"# HELP only_help  two blanks\nonly_help 1\n# TYPE g gauge\n# TYPE g untyped\ng 1\nno_metadata 1\n# comment\n" +
				"# HELP\n# TYPE last summary\n",
			want: []string{
				`a_total|counter|"Requests, \\ and \n and \\\" and \\t."|""`, "a_total",
				`h|histogram|""|""`, "h_bucket", "h_sum", `h|histogram|"later help"|""`, "h_count",
				`only_help|unknown|" two blanks"|""`, "only_help",
				`g|unknown|""|""`, "g", "no_metadata",
				`last|summary|""|""`,
			},
		},
		{
			// The keyword counts after '#' and a blank; the text starts one byte after
			// the name; a quoted name may be empty, which no family reports, though
			// its # TYPE applies.
			name: "text names as textparse reads them", format: FormatText,
			input: "# HELP foo.bar Some help.\n{\"foo.bar\"} 1\n# HELP a\r\na 1\n#TYPE b gauge\nb 1\n" +
				"# HELP \"\" none\n# TYPE \"\" histogram\nx_bucket{le=\"1\"} 1\n",
			want: []string{
				`foo|unknown|"bar Some help."|""`, "foo.bar", `a|unknown|""|""`, "a", "b", "x_bucket",
			},
		},
		{
			name: "openmetrics", format: FormatOpenMetrics,
			input: "# TYPE d_seconds histogram\n# UNIT d_seconds seconds\n# HELP d_seconds Say \\\"hi\\\" \\\\ \\q.\n" +
				"d_seconds_bucket{le=\"+Inf\"} 1\nd_seconds_count 1\nd_seconds_created 1\n" +
				"# TYPE \"my.info\" info\n# HELP \"my.info\" \n{\"my.info_info\"} 1\n# EOF\n",
			want: []string{
				`d_seconds|histogram|"Say \"hi\" \\ \\q."|"seconds"`, "d_seconds_bucket", "d_seconds_count", "d_seconds_created",
				`my.info|info|""|""`, "my.info_info",
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, keep := range []func(string, string) bool{nil, func(string, string) bool { return false }} {
				var got []string
				p := NewParser(Options{
					Interner: NewInterner(100),
					Keep:     keep,
					Metadata: func(m Metadata) {
						got = append(got, fmt.Sprintf("%s|%s|%q|%q", m.Family, m.Type, m.Help, m.Unit))
					},
				})
				for round := range 2 { // the second round runs on a used Parser
					got = got[:0]
					_, err := p.Parse(strings.NewReader(tc.input), tc.format, func(s *Sample) error {
						got = append(got, s.Name)
						return nil
					})
					if err != nil {
						t.Fatalf("round %d: Parse: %v", round, err)
					}
					want := tc.want
					if keep != nil {
						want = slices.DeleteFunc(slices.Clone(want), func(s string) bool { return !strings.Contains(s, "|") })
					}
					if !slices.Equal(got, want) {
						t.Errorf("round %d, Keep %t: got\n%s\nwant\n%s", round, keep != nil, strings.Join(got, "\n"), strings.Join(want, "\n"))
					}
				}
			}
		})
	}
}

// TestParseMetadataMatchesTextparse: the help texts and units are those textparse gives.
func TestParseMetadataMatchesTextparse(t *testing.T) {
	for _, path := range append(slices.Clone(textInputs), openMetricsInputs...) {
		t.Run(path, func(t *testing.T) {
			f := FormatText
			if slices.Contains(openMetricsInputs, path) {
				f = FormatOpenMetrics
			}
			data := readFile(t, path)
			ours := map[string]Metadata{}
			p := NewParser(Options{Metadata: func(m Metadata) { ours[m.Family] = m }})
			if _, err := p.Parse(strings.NewReader(string(data)), f, nil); err != nil {
				t.Fatal(err)
			}
			theirs := textparseMetadata(t, data, f)
			if len(ours) != len(theirs) || len(ours) == 0 {
				t.Errorf("got %d families with metadata, textparse %d", len(ours), len(theirs))
			}
			for name, want := range theirs {
				if got := ours[name]; got != want {
					t.Errorf("family %q: got %+v, textparse %+v", name, got, want)
				}
			}
		})
	}
}

// textparseMetadata collects the metadata textparse reports, the latest line winning.
func textparseMetadata(t *testing.T, data []byte, f Format) map[string]Metadata {
	t.Helper()
	var p textparse.Parser
	if f == FormatOpenMetrics {
		p = textparse.NewOpenMetricsParser(data, labels.NewSymbolTable())
	} else {
		p = textparse.NewPromParser(data, labels.NewSymbolTable(), false)
	}
	out := map[string]Metadata{}
	set := func(name []byte, edit func(*Metadata)) {
		m := out[string(name)]
		m.Family = string(name)
		edit(&m)
		out[string(name)] = m
	}
	for {
		entry, err := p.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("textparse: %v", err)
		}
		switch entry {
		case textparse.EntryHelp:
			name, help := p.Help()
			set(name, func(m *Metadata) { m.Help = string(help) })
		case textparse.EntryUnit:
			name, unit := p.Unit()
			set(name, func(m *Metadata) { m.Unit = string(unit) })
		case textparse.EntryType:
			name, typ := p.Type()
			set(name, func(m *Metadata) {
				m.Type, _ = parseType([]byte(typ), true)
				if typ == "untyped" {
					m.Type = TypeUnknown
				}
			})
		}
	}
}

func TestMetricTypeString(t *testing.T) {
	for typ, want := range map[MetricType]string{
		TypeUnknown: "unknown", TypeCounter: "counter", TypeGauge: "gauge", TypeHistogram: "histogram",
		TypeGaugeHistogram: "gaugehistogram", TypeSummary: "summary", TypeInfo: "info", TypeStateset: "stateset",
		MetricType(99): "unknown",
	} {
		if got := typ.String(); got != want {
			t.Errorf("MetricType(%d): got %q, want %q", typ, got, want)
		}
	}
}

// TestMetadataInBlocks: a family whose metadata lines come in blocks, other families'
// lines between them, is handed on each time with all its lines said so far, as
// Prometheus' scrape cache keeps each family's type, help and unit apart; and a sample
// after a family's # HELP is of that family by the type its earlier # TYPE gave it.
func TestMetadataInBlocks(t *testing.T) {
	input := "# HELP a Help of a.\n# HELP b Help of b.\n# TYPE a counter\n# TYPE b gauge\na 1\nb 2\n" +
		"# TYPE h histogram\n# HELP x Help of x.\n# HELP h Help of h.\nh_bucket{le=\"+Inf\"} 1\n"
	want := []string{
		`a|unknown|"Help of a."|""`, `b|unknown|"Help of b."|""`,
		`a|counter|"Help of a."|""`, `b|gauge|"Help of b."|""`, "a in a", "b in b",
		`h|histogram|""|""`, `x|unknown|"Help of x."|""`, `h|histogram|"Help of h."|""`, "h_bucket in h",
	}
	var got []string
	p := NewParser(Options{Metadata: func(m Metadata) {
		got = append(got, fmt.Sprintf("%s|%s|%q|%q", m.Family, m.Type, m.Help, m.Unit))
	}})
	for round := range 2 { // the second round runs on a used Parser
		got = got[:0]
		_, err := p.Parse(strings.NewReader(input), FormatText, func(s *Sample) error {
			got = append(got, s.Name+" in "+s.Family)
			return nil
		})
		if err != nil {
			t.Fatalf("round %d: Parse: %v", round, err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("round %d: got\n%s\nwant\n%s", round, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
}
