package exposition

import (
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestByteClass(t *testing.T) {
	for c := range 256 {
		b := byte(c)
		letter := b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b == '_'
		digit := b >= '0' && b <= '9'
		for _, tc := range []struct {
			name string
			got  bool
			want bool
		}{
			{"isLabelNameStart", isLabelNameStart(b), letter},
			{"isLabelNameChar", isLabelNameChar(b), letter || digit},
			{"isMetricNameStart", isMetricNameStart(b), letter || b == ':'},
			{"isMetricNameChar", isMetricNameChar(b), letter || digit || b == ':'},
		} {
			if tc.got != tc.want {
				t.Errorf("%s(%q): got %t, want %t", tc.name, b, tc.got, tc.want)
			}
		}
	}
}

// TestParseFloat compares parseFloat, fast path included, with strconv.
func TestParseFloat(t *testing.T) {
	inputs := []string{
		"0", "-0", "+0", "1", "-1", "+1", ".5", "5.", "0.1", "0.3", "1e3", "1E3", "1e+3", "1e-3", "-1.5e-7",
		"123456789012345", "1234567890123456", "0.000000000000001", "1e22", "1e23", "1e-22", "1e-23",
		"9007199254740993", "1.7976931348623157e308", "4.9e-324", "2.2250738585072014e-308",
		"1.78461504058e+09", "1.7268398130168471e+09", "0.0007899999999999999", "123e-20", "1.5e-7",
		"NaN", "nan", "+Inf", "-Inf", "Inf", "inf", "infinity", "+infinity",
		"", ".", "-", "+", "e5", "1e", "1e+", "1e1000", "1..2", "1.2.3", "--1", "1-", "abc", " 1", "1 ",
		"0x10", "0x1p3", "1_000", "1p3", "0001", "00.100",
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		var b strings.Builder
		if rng.IntN(3) == 0 {
			b.WriteByte("+-"[rng.IntN(2)])
		}
		for range rng.IntN(18) {
			b.WriteByte(byte('0' + rng.IntN(10)))
		}
		if rng.IntN(2) == 0 {
			b.WriteByte('.')
			for range rng.IntN(18) {
				b.WriteByte(byte('0' + rng.IntN(10)))
			}
		}
		if rng.IntN(2) == 0 {
			b.WriteString([]string{"e", "E", "e+", "e-"}[rng.IntN(4)])
			b.WriteString(strconv.Itoa(rng.IntN(40)))
		}
		inputs = append(inputs, b.String())
	}
	for _, in := range inputs {
		got, ok := parseFloat([]byte(in))
		want, err := strconv.ParseFloat(in, 64)
		wantOK := err == nil && !strings.ContainsAny(in, "pP_")
		if ok != wantOK {
			t.Errorf("parseFloat(%q): got ok %t, want %t", in, ok, wantOK)
			continue
		}
		if ok && math.Float64bits(got) != math.Float64bits(want) && !(math.IsNaN(got) && math.IsNaN(want)) {
			t.Errorf("parseFloat(%q): got %v, want %v", in, got, want)
		}
	}
}

func TestValidUTF8(t *testing.T) {
	ascii := strings.Repeat("abcdefgh", 9)
	for _, in := range []string{
		"", "a", ascii, ascii + "é", "é" + ascii, ascii[:31] + "é" + ascii, ascii[:32] + "\xff", ascii[:40] + "\xff" + ascii,
		"\xff", ascii + "\xc3", ascii[:64] + "🚀" + ascii[:3], "\xed\xa0\x80", // a surrogate
	} {
		if got, want := validUTF8([]byte(in)), utf8.ValidString(in); got != want {
			t.Errorf("validUTF8(%q): got %t, want %t", in, got, want)
		}
	}
}

// TestValidUTF8Lengths puts one bad or good multi-byte character at every position of
// inputs of every length up to 80 bytes, across the word and block boundaries.
func TestValidUTF8Lengths(t *testing.T) {
	for n := range 80 {
		for pos := range n + 1 {
			for _, ch := range []string{"\xff", "é", "🚀", "\xe2\x82"} {
				in := strings.Repeat("a", pos) + ch + strings.Repeat("b", n-pos)
				if got, want := validUTF8([]byte(in)), utf8.ValidString(in); got != want {
					t.Fatalf("validUTF8(%q): got %t, want %t", in, got, want)
				}
			}
		}
	}
}
