package exposition

import (
	"strconv"
	"testing"
)

// The fast path for short decimals agrees with strconv on every form it takes (signs,
// fractions, exponents of 1 to 3 digits with either sign), and hands the rest back.
func TestParseShortDecimalAgreesWithStrconv(t *testing.T) {
	var inputs []string
	for _, m := range []string{"0", "1", "7", "12", "-3", "+4", "1.5", "-0.25", "123456789012345", "9.99", ".5", "5."} {
		inputs = append(inputs, m)
		for _, e := range []string{"e0", "e1", "E2", "e+3", "e-3", "e10", "e-10", "e22", "e-22", "e099", "e-007", "E+12"} {
			inputs = append(inputs, m+e)
		}
	}
	taken := 0
	for _, s := range inputs {
		got, ok := parseShortDecimal([]byte(s))
		if !ok {
			continue
		}
		taken++
		want, err := strconv.ParseFloat(s, 64)
		if err != nil || got != want {
			t.Errorf("parseShortDecimal(%q) = %v, want %v (strconv: %v)", s, got, want, err)
		}
	}
	if taken < len(inputs)/2 {
		t.Errorf("the fast path took %d of %d short decimals, want most", taken, len(inputs))
	}
	for _, s := range []string{"", "-", "e5", "1e", "1e+", "1e1000", "1e-1000", "1ee2", "1e2x", "1.2.3", "1234567890123456", "0x10", "1_0", "Inf", "NaN"} {
		if v, ok := parseShortDecimal([]byte(s)); ok {
			if want, err := strconv.ParseFloat(s, 64); err != nil || v != want {
				t.Errorf("parseShortDecimal(%q) = %v, ok; want it handed back or %v", s, v, want)
			}
		}
	}
}

// A text-format gauge histogram's _bucket, _sum and _count samples are in its family;
// another suffix is not.
func TestGaugeHistogramTextFamily(t *testing.T) {
	in := "# TYPE g gaugehistogram\ng_bucket{le=\"+Inf\"} 1\ng_sum 2\ng_count 3\ng_other 4\n"
	samples, err := collect(t, NewParser(Options{}), []byte(in), FormatText)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"g", "g", "g", "g_other"}
	for i, s := range samples {
		if i >= len(want) || s.Family != want[i] {
			t.Errorf("sample %s: family %q, want %q", s.Name, s.Family, want[min(i, len(want)-1)])
		}
	}
	if len(samples) != len(want) {
		t.Fatalf("got %d samples, want %d", len(samples), len(want))
	}
}
