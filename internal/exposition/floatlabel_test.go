package exposition

import (
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
)

// TestAppendFloatLabel checks the canonical float form against Prometheus' own
// labels.FormatOpenMetricsFloat, which textparse applies to le and quantile values.
func TestAppendFloatLabel(t *testing.T) {
	for _, v := range []string{
		"1", "1.0", "0.5", "0.50", "0", "-0", "0.0", "-1", "1e3", "1E3", "1000", "100000", "1e21", "1e-7",
		"0.005", "2.5", "+Inf", "Inf", "inf", "-Inf", "NaN", "nan", "+1", ".5", "5.", "1_0", "0x1p3",
		"-0.0002899999999999998", "1.7976931348623157e308", "4.9e-324", "123456789012345678",
	} {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			t.Fatalf("ParseFloat(%q): %v", v, err)
		}
		got, ok := appendFloatLabel(nil, v)
		if want := labels.FormatOpenMetricsFloat(f); !ok || string(got) != want {
			t.Errorf("appendFloatLabel(%q): got %q, %t; want %q, true", v, got, ok, want)
		}
	}
	for _, v := range []string{"", " 1", "1 ", "abc", "1e400", "-1e400", "1,5", "0x", "+-1"} {
		if got, ok := appendFloatLabel([]byte("x"), v); ok || string(got) != "x" {
			t.Errorf("appendFloatLabel(%q): got %q, %t; want it kept (false)", v, got, ok)
		}
	}
	if got, _ := appendFloatLabel(nil, strconv.FormatFloat(-math.MaxFloat64, 'g', -1, 64)); len(got) > 32 {
		t.Errorf("got %d bytes for the longest float, want at most 32 (the stack buffer)", len(got))
	}
}

// TestFloatLabels: le and quantile values are stored as Prometheus' textparse stores
// them (le="1" as "1.0"), under the same conditions: the latest # TYPE line says
// histogram (le) or summary (quantile), whichever sample follows it. Each case is also
// parsed by textparse, the reference.
func TestFloatLabels(t *testing.T) {
	for _, tc := range []struct {
		name  string
		input string
		want  []string
	}{
		{
			name: "histogram buckets",
			input: "# TYPE h histogram\n" + `h_bucket{le="1"} 1` + "\n" + `h_bucket{le="0.50"} 2` + "\n" +
				`h_bucket{le="1e3"} 3` + "\n" + `h_bucket{le="inf"} 4` + "\n" + `h_bucket{le="-0"} 5` + "\n" +
				`h_bucket{le="nan"} 6` + "\n" + `h_bucket{le="1e400"} 7` + "\n" + `h_bucket{le=" 1"} 8` + "\n" +
				`h_bucket{le="x"} 9` + "\n" + `h_bucket{le="1_5"} 10` + "\n" + `h_bucket{"le"="2"} 11` + "\n" +
				`h_bucket{le="-inf"} 12` + "\n" + `h_bucket{le="1e21"} 13` + "\n" + `h_bucket{a="1",le="3"} 14` + "\n",
			want: []string{
				`h/h_bucket{le="1.0"} 1`, `h/h_bucket{le="0.5"} 2`, `h/h_bucket{le="1000.0"} 3`,
				`h/h_bucket{le="+Inf"} 4`, `h/h_bucket{le="0.0"} 5`, `h/h_bucket{le="NaN"} 6`,
				`h/h_bucket{le="1e400"} 7`, `h/h_bucket{le=" 1"} 8`, `h/h_bucket{le="x"} 9`,
				`h/h_bucket{le="15.0"} 10`, `h/h_bucket{le="2.0"} 11`, `h/h_bucket{le="-Inf"} 12`,
				`h/h_bucket{le="1e+21"} 13`, `h/h_bucket{a="1",le="3.0"} 14`,
			},
		},
		{
			name:  "summary quantiles; le of a summary and quantile of a histogram kept",
			input: "# TYPE s summary\n" + `s{quantile="0.50"} 1` + "\n" + `s{quantile="1"} 2` + "\n" + `s_sum{le="1"} 3` + "\n" + "# TYPE h histogram\n" + `h_bucket{le="1",quantile="1"} 4` + "\n",
			want:  []string{`s/s{quantile="0.5"} 1`, `s/s{quantile="1.0"} 2`, `s/s_sum{le="1"} 3`, `h/h_bucket{le="1.0",quantile="1"} 4`},
		},
		{
			name:  "the latest TYPE line decides, not the sample's family",
			input: "# TYPE h histogram\n" + `h_bucket{le="1"} 1` + "\n" + `other{le="1"} 2` + "\n" + "# HELP g help\n" + `g{le="2"} 3` + "\n",
			want:  []string{`h/h_bucket{le="1.0"} 1`, `other/other{le="1.0"} 2`, `g/g{le="2.0"} 3`},
		},
		{
			name:  "other types keep the value",
			input: "# TYPE g gauge\n" + `g{le="1",quantile="0.50"} 1` + "\n" + "# TYPE c counter\n" + `c{le="1"} 2` + "\n" + `plain_before_any{le="1"} 3` + "\n",
			want:  []string{`g/g{le="1",quantile="0.50"} 1`, `c/c{le="1"} 2`, `plain_before_any/plain_before_any{le="1"} 3`},
		},
		{
			name:  "a type line resets",
			input: "# TYPE h histogram\n# TYPE u untyped\n" + `u{le="1"} 1` + "\n",
			want:  []string{`u/u{le="1"} 1`},
		},
	} {
		for _, f := range []Format{FormatText, FormatOpenMetrics} {
			t.Run(tc.name+"/"+f.String(), func(t *testing.T) {
				input := tc.input
				if f == FormatOpenMetrics {
					input = strings.ReplaceAll(input, " untyped\n", " unknown\n") + "# EOF\n"
				}
				p := NewParser(Options{Interner: NewInterner(100)})
				for round := range 2 { // the second round runs on a used Parser, its cache warm
					samples, err := collect(t, p, []byte(input), f)
					if err != nil {
						t.Fatalf("Parse: %v", err)
					}
					var got []string
					for _, s := range samples {
						got = append(got, format(s))
					}
					if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
						t.Errorf("round %d: got\n%s\nwant\n%s", round, strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
					}
					compareSamples(t, canonicalAll(samples), textparseSamples(t, []byte(input), f))
				}
			})
		}
	}
}

// TestFloatLabelsGaugeHistogram: an OpenMetrics gauge histogram's le is kept as exposed,
// as textparse keeps it.
func TestFloatLabelsGaugeHistogram(t *testing.T) {
	input := []byte("# TYPE g gaugehistogram\n" + `g_bucket{le="1"} 1` + "\n# EOF\n")
	samples, err := collect(t, NewParser(Options{}), input, FormatOpenMetrics)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := format(samples[0]), `g/g_bucket{le="1"} 1`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	compareSamples(t, canonicalAll(samples), textparseSamples(t, input, FormatOpenMetrics))
}
