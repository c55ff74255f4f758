package exposition

import (
	"strings"
	"testing"
)

// TestUnknownEscapes: a backslash before anything but \ " n is kept with the byte after
// it, in label values and in quoted metric and label names, in both formats, as
// Prometheus' textparse stores it (run here as the reference); expfmt rejects such
// expositions, and Prometheus scrapes them.
func TestUnknownEscapes(t *testing.T) {
	for _, esc := range []string{`\t`, `\r`, `\'`, `\x41`, `\u0041`, `\0`, `\q`, `\ `, `\ü`} {
		for _, tc := range []struct {
			where  string
			line   string // ESC is the escape
			want   string // the stored string, ESC the escape as exposed
			stored func(Sample) string
		}{
			{"label value", `a{b="xESCy"} 1`, `xESCy`, func(s Sample) string { return s.Labels[0].Value }},
			{"label value, known escapes around", `a{b="\\ESC\n\""} 1`, "\\ESC\n\"", func(s Sample) string { return s.Labels[0].Value }},
			{"quoted metric name", `{"aESC",b="c"} 1`, `aESC`, func(s Sample) string { return s.Name }},
			{"quoted metric name after a label", `{b="c","aESC"} 1`, `aESC`, func(s Sample) string { return s.Name }},
			{"quoted label name", `a{"bESC"="c"} 1`, `bESC`, func(s Sample) string { return s.Labels[0].Name }},
		} {
			for _, f := range []Format{FormatText, FormatOpenMetrics} {
				t.Run(esc+"/"+tc.where+"/"+f.String(), func(t *testing.T) {
					input := strings.ReplaceAll(tc.line, "ESC", esc) + "\n"
					if f == FormatOpenMetrics {
						input += "# EOF\n"
					}
					samples, err := collect(t, NewParser(Options{}), []byte(input), f)
					if err != nil {
						t.Fatalf("Parse(%q): %v", input, err)
					}
					if len(samples) != 1 || len(samples[0].Labels) != 1 {
						t.Fatalf("Parse(%q): got %d samples, want 1 with 1 label", input, len(samples))
					}
					if got, want := tc.stored(samples[0]), strings.ReplaceAll(tc.want, "ESC", esc); got != want {
						t.Errorf("Parse(%q): got %q, want %q", input, got, want)
					}
					compareSamples(t, canonicalAll(samples), textparseSamples(t, []byte(input), f))
				})
			}
		}
	}
}
