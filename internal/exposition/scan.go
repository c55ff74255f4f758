package exposition

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"unsafe"
)

// Byte classes of the text formats, as bit sets over ASCII: bit c of lo for c < 64,
// bit c-64 of hi for 64 <= c < 128.
const (
	digitsLo  = (1<<10 - 1) << '0'
	colonLo   = 1 << ':'
	lettersHi = (1<<26-1)<<('A'-64) | 1<<('_'-64) | (1<<26-1)<<('a'-64)
)

func inSet(c byte, lo, hi uint64) bool {
	if c < 64 {
		return lo&(1<<c) != 0
	}
	return c < 128 && hi&(1<<(c-64)) != 0
}

func isMetricNameStart(c byte) bool { return inSet(c, colonLo, lettersHi) }
func isMetricNameChar(c byte) bool  { return inSet(c, digitsLo|colonLo, lettersHi) }
func isLabelNameStart(c byte) bool  { return inSet(c, 0, lettersHi) }
func isLabelNameChar(c byte) bool   { return inSet(c, digitsLo, lettersHi) }

const (
	// maxQuotedInput is how much of an offending line a ParseError quotes.
	maxQuotedInput = 100
	// maxQuotedToken is how much of an offending token an error message quotes.
	maxQuotedToken = 40
)

func isBlank(c byte) bool { return c == ' ' || c == '\t' }

// skipBlanks returns the index of the first non-blank byte of b at or after i.
func skipBlanks(b []byte, i int) int {
	for i < len(b) && isBlank(b[i]) {
		i++
	}
	return i
}

// scanToken returns the end of the token starting at i: the next blank or the end.
func scanToken(b []byte, i int) int {
	for i < len(b) && !isBlank(b[i]) {
		i++
	}
	return i
}

// scanMetricName returns the end of the bare metric name starting at i; i if none.
func scanMetricName(b []byte, i int) int {
	if i >= len(b) || !isMetricNameStart(b[i]) {
		return i
	}
	for i++; i < len(b) && isMetricNameChar(b[i]); i++ {
	}
	return i
}

// scanLabelName returns the end of the bare label name starting at i; i if none.
func scanLabelName(b []byte, i int) int {
	if i >= len(b) || !isLabelNameStart(b[i]) {
		return i
	}
	for i++; i < len(b) && isLabelNameChar(b[i]); i++ {
	}
	return i
}

// scanQuoted reads the quoted string whose opening quote is at b[i-1]. It returns the
// unescaped content (a sub-slice of b, or of scratch when there are escapes), the index
// after the closing quote, the scratch buffer to keep, and a message when the string is
// unterminated or has an escape other than \\ \" \n.
func scanQuoted(b []byte, i int, scratch []byte) (s []byte, next int, _ []byte, msg string) {
	rest := b[i:]
	q := bytes.IndexByte(rest, '"')
	if q < 0 {
		q = len(rest)
	}
	bs := bytes.IndexByte(rest[:q], '\\')
	if bs < 0 {
		if q == len(rest) {
			return nil, len(b), scratch, "unterminated quoted string"
		}
		return rest[:q], i + q + 1, scratch, ""
	}
	out := append(scratch[:0], rest[:bs]...)
	for k := bs; k < len(rest); {
		switch c := rest[k]; c {
		case '"':
			return out, i + k + 1, out, ""
		case '\\':
			if k+1 == len(rest) {
				return nil, len(b), out, "unterminated quoted string"
			}
			switch e := rest[k+1]; e {
			case '\\', '"':
				out = append(out, e)
			case 'n':
				out = append(out, '\n')
			default:
				return nil, i + k, out, fmt.Sprintf("invalid escape sequence %q", rest[k:k+2])
			}
			k += 2
		default:
			// Copy the run up to the next quote or backslash in one go.
			end := k + 1
			for end < len(rest) && rest[end] != '"' && rest[end] != '\\' {
				end++
			}
			out = append(out, rest[k:end]...)
			k = end
		}
	}
	return nil, len(b), out, "unterminated quoted string"
}

// parseFloat parses a sample value as expfmt does: strconv's syntax (NaN, ±Inf, Inf and
// exponents included) without hexadecimal floats or underscores; out of range is invalid.
func parseFloat(b []byte) (float64, bool) {
	if f, ok := parseShortDecimal(b); ok {
		return f, true
	}
	if bytes.ContainsAny(b, "pP_") {
		return 0, false
	}
	f, err := strconv.ParseFloat(unsafeString(b), 64)
	return f, err == nil
}

// parseShortDecimal parses [+-]digits[.digits] with at most 15 digits, the common
// case, exactly: the mantissa and the power of ten are exact float64s, so one division
// rounds correctly (Clinger's fast path, as strconv takes it).
func parseShortDecimal(b []byte) (float64, bool) {
	i, neg := 0, false
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		neg, i = b[0] == '-', 1
	}
	var m uint64
	digits, frac, dot := 0, 0, false
	for ; i < len(b); i++ {
		c := b[i]
		switch {
		case c >= '0' && c <= '9':
			m = m*10 + uint64(c-'0')
			digits++
			if dot {
				frac++
			}
		case c == '.' && !dot:
			dot = true
		default:
			return 0, false
		}
		if digits > 15 {
			return 0, false
		}
	}
	if digits == 0 {
		return 0, false
	}
	f := float64(m) / math.Pow10(frac) // exact for frac <= 22
	if neg {
		f = -f
	}
	return f, true
}

// unsafeString views b as a string for a call that does not keep it.
func unsafeString(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// truncate returns b as a string of at most n bytes; a cut string ends in "...".
func truncate(b []byte, n int) string {
	if len(b) <= n {
		return string(b)
	}
	return string(b[:n]) + "..."
}
