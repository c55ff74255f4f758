package exposition

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParse checks that any input either fails with a *ParseError or yields samples
// that are well formed, survive a round trip through the text format unchanged, and
// cost the Parser memory in proportion to the input; and that Keep changes neither
// whether and how Parse fails nor how many repeats it drops. The seed corpus (the fixtures and
// the inputs of the error table) runs with go test; to fuzz (minimising the large
// fixture seeds takes long, hence the short -fuzzminimizetime):
//
//	go test ./internal/exposition/ -run '^$' -fuzz FuzzParse -fuzztime 60s -fuzzminimizetime 5s
func FuzzParse(f *testing.F) {
	for _, path := range textInputs {
		f.Add(readFile(f, path), false)
	}
	for _, path := range openMetricsInputs {
		f.Add(readFile(f, path), true)
	}
	for _, s := range []string{
		"a{b=\"c\",b=\"d\"} 1\n", "{\"a.b\",\"c.d\"=\"\\\"\"} 1 2", "a 1\na 1\n", "# TYPE a summary\na_sum{x=\"\\n\"} NaN\n",
		"a_total 1 # {x=\"y\"} 1 1.5\n# EOF\n", "a{b=\"\xff\"} 1\n", "a{b=\"c", "{} 1",
		"# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"1.0\"} 2\n", "{b=\"c\",\"a\\t\"} 1\n# EOF\n",
		"# UNIT a_s s\n# HELP a_s \\\"x\\q\n# EOF\n",
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	for _, tc := range errorCases() {
		f.Add([]byte(tc.input), tc.format == FormatOpenMetrics)
	}
	interner := NewInterner(1 << 12) // shared across inputs, as across pods
	f.Fuzz(func(t *testing.T, data []byte, om bool) {
		format := FormatText
		if om {
			format = FormatOpenMetrics
		}
		p := NewParser(Options{Interner: interner, Metadata: func(m Metadata) {
			if m.Family == "" || !utf8.ValidString(m.Help) || !utf8.ValidString(m.Unit) {
				t.Fatalf("got metadata %+v", m)
			}
		}})
		samples, err := collect(t, p, data, format)

		// Keep skips samples, and only that: the same error, the same repeats dropped.
		keep := func(name, _ string) bool { return len(name)%2 == 0 }
		pk := NewParser(Options{Keep: keep})
		kept, errKeep := collect(t, pk, data, format)
		if fmt.Sprint(errKeep) != fmt.Sprint(err) {
			t.Fatalf("with Keep: got error %v, want %v", errKeep, err)
		}
		if err == nil && pk.Duplicates() != p.Duplicates() {
			t.Fatalf("with Keep: got %d duplicates, want %d", pk.Duplicates(), p.Duplicates())
		}

		lines := bytes.Count(data, []byte("\n")) + 1
		if len(samples) > lines {
			t.Fatalf("got %d samples from %d lines", len(samples), lines)
		}
		if limit := 512<<10 + 64*len(data); p.retained() > limit {
			t.Fatalf("got %d bytes retained for %d bytes of input, want at most %d", p.retained(), len(data), limit)
		}
		for _, s := range samples {
			checkSample(t, s)
		}
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("got error %v, want a *ParseError", err)
			}
			if pe.Line < 1 || pe.Line > lines+1 || pe.Msg == "" || len(pe.Input) > maxQuotedInput+3 {
				t.Fatalf("got malformed %#v for %d lines", pe, lines)
			}
			return
		}

		// The samples, written as text, parse back to themselves.
		text := writeText(samples)
		again, err := collect(t, NewParser(Options{}), text, FormatText)
		if err != nil {
			t.Fatalf("re-parse of %q: %v", text, err)
		}
		if got, want := canonicalAll(again), canonicalAll(samples); !slices.Equal(got, want) {
			t.Fatalf("re-parse of %q: got %q, want %q", text, got, want)
		}

		// Skipping samples skips only them.
		var want []string
		for _, s := range samples {
			if keep(s.Name, s.Family) {
				want = append(want, canonicalOf(s))
			}
		}
		if got := canonicalAll(kept); !slices.Equal(got, want) {
			t.Fatalf("with Keep: got %q, want %q", got, want)
		}
	})
}

func checkSample(t *testing.T, s Sample) {
	t.Helper()
	if s.Name == "" || !utf8.ValidString(s.Name) || s.Family == "" || !strings.HasPrefix(s.Name, s.Family) {
		t.Fatalf("got name %q of family %q", s.Name, s.Family)
	}
	names := make(map[string]bool, len(s.Labels))
	for _, l := range s.Labels {
		if l.Name == "" || l.Name == "__name__" || names[l.Name] || !utf8.ValidString(l.Name) || !utf8.ValidString(l.Value) {
			t.Fatalf("got label %q=%q in %s", l.Name, l.Value, format(s))
		}
		names[l.Name] = true
	}
}

func canonicalOf(s Sample) string {
	var ts *int64
	if s.HasTimestamp {
		ts = &s.TimestampMs
	}
	return canonical(s.Name, s.Labels, s.Value, ts)
}

func canonicalAll(samples []Sample) []string {
	out := make([]string, len(samples))
	for i, s := range samples {
		out[i] = canonicalOf(s)
	}
	return out
}

// writeText writes samples in the text format, quoting names that need it.
func writeText(samples []Sample) []byte {
	var b []byte
	for _, s := range samples {
		if legacyName(s.Name, true) {
			b = append(b, s.Name...)
			b = append(b, '{')
		} else {
			b = append(b, '{')
			b = appendQuoted(b, s.Name)
			b = append(b, ',')
		}
		for _, l := range s.Labels {
			if legacyName(l.Name, false) {
				b = append(b, l.Name...)
			} else {
				b = appendQuoted(b, l.Name)
			}
			b = append(b, '=')
			b = appendQuoted(b, l.Value)
			b = append(b, ',')
		}
		b = append(b, "} "...)
		b = strconv.AppendFloat(b, s.Value, 'g', -1, 64) // NaN, +Inf, -Inf as the format has them
		if s.HasTimestamp {
			b = append(b, ' ')
			b = strconv.AppendInt(b, s.TimestampMs, 10)
		}
		b = append(b, '\n')
	}
	return b
}

func legacyName(s string, metric bool) bool {
	for i := range len(s) {
		c := s[i]
		ok := c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9' || metric && c == ':'
		if !ok {
			return false
		}
	}
	return s != ""
}

func appendQuoted(b []byte, s string) []byte {
	b = append(b, '"')
	for i := range len(s) {
		switch c := s[i]; c {
		case '\\', '"':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}
