package exposition

import (
	"bytes"
	"encoding/binary"
	"math"
	"strconv"
	"unicode/utf8"
	"unsafe"
)

// byteClass classifies the bytes of names, a lookup per byte (TestByteClass checks it):
// a constant, so that it is data rather than a variable.
const byteClass = "" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x05\x05\x05\x05\x05\x05\x05\x05\x05\x05\x0c\x00\x00\x00\x00\x00" +
	"\x00\x0f\x0f\x0f\x0f\x0f\x0f\x0f\x0f\x0f\x0f\x0f\x0f\x0f\x0f\x0f\x0f\x0f\x0f\x0f\x0f\x0f\x0f\x0f\x0f\x0f\x0f\x00\x00\x00\x00\x0f" +
	"\x00\x0f\x0f\x0f\x0f\x0f\x0f\x0f\x0f\x0f\x0f\x0f\x0f\x0f\x0f\x0f\x0f\x0f\x0f\x0f\x0f\x0f\x0f\x0f\x0f\x0f\x0f\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"

// The classes of byteClass, as bits.
const (
	classLabelChar   = 1 << iota // [a-zA-Z0-9_]
	classLabelStart              // [a-zA-Z_]
	classMetricChar              // [a-zA-Z0-9_:]
	classMetricStart             // [a-zA-Z_:]
)

func isMetricNameStart(c byte) bool { return byteClass[c]&classMetricStart != 0 }
func isMetricNameChar(c byte) bool  { return byteClass[c]&classMetricChar != 0 }
func isLabelNameStart(c byte) bool  { return byteClass[c]&classLabelStart != 0 }
func isLabelNameChar(c byte) bool   { return byteClass[c]&classLabelChar != 0 }

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

// msgUnterminated is scanQuoted's message for a string without its closing quote.
const msgUnterminated = "unterminated quoted string"

// scanQuoted reads the quoted string whose opening quote is at b[i-1]. It returns the
// unescaped content (a sub-slice of b, or of scratch when there are escapes), the index
// after the closing quote, the scratch buffer to keep, and a message when the string is
// unterminated. The escapes are \\ \" and \n; any other backslash is kept with the byte
// after it (\t stays a backslash and a t), as Prometheus' textparse stores it.
func scanQuoted(b []byte, i int, scratch []byte) (s []byte, next int, _ []byte, msg string) {
	rest := b[i:]
	q := bytes.IndexByte(rest, '"')
	if q < 0 {
		q = len(rest)
	}
	bs := bytes.IndexByte(rest[:q], '\\')
	if bs < 0 {
		if q == len(rest) {
			return nil, len(b), scratch, msgUnterminated
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
				return nil, len(b), out, msgUnterminated
			}
			switch e := rest[k+1]; e {
			case '\\', '"':
				out = append(out, e)
			case 'n':
				out = append(out, '\n')
			default:
				out = append(out, '\\', e)
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
	return nil, len(b), out, msgUnterminated
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

// parseShortDecimal parses [+-]digits[.digits][(e|E)[+-]digits] with at most 15
// significant digits and a power of ten within ±22, the common case, exactly: the
// mantissa and the power of ten are exact float64s, so one multiplication or division
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
		if c >= '0' && c <= '9' {
			m = m*10 + uint64(c-'0')
			digits++
			if dot {
				frac++
			}
			continue
		}
		if c == '.' && !dot {
			dot = true
			continue
		}
		break
	}
	if digits == 0 || digits > 15 {
		return 0, false
	}
	exp := 0
	if i < len(b) {
		if b[i] != 'e' && b[i] != 'E' {
			return 0, false
		}
		i++
		expNeg := false
		if i < len(b) && (b[i] == '-' || b[i] == '+') {
			expNeg, i = b[i] == '-', i+1
		}
		if i == len(b) || len(b)-i > 3 {
			return 0, false
		}
		for ; i < len(b); i++ {
			c := b[i]
			if c < '0' || c > '9' {
				return 0, false
			}
			exp = exp*10 + int(c-'0')
		}
		if expNeg {
			exp = -exp
		}
	}
	f := float64(m)
	switch k := exp - frac; {
	case k >= 0 && k <= 22:
		f *= math.Pow10(k)
	case k < 0 && k >= -22:
		f /= math.Pow10(-k)
	default:
		return 0, false
	}
	if neg {
		f = -f
	}
	return f, true
}

// validUTF8 reports whether b is valid UTF-8, checking for plain ASCII first, a word at
// a time, as expositions nearly always are.
func validUTF8(b []byte) bool {
	const high = 0x8080808080808080
	n, i := len(b), 0
	for ; i+32 <= n; i += 32 {
		w := binary.LittleEndian.Uint64(b[i:]) | binary.LittleEndian.Uint64(b[i+8:]) |
			binary.LittleEndian.Uint64(b[i+16:]) | binary.LittleEndian.Uint64(b[i+24:])
		if w&high != 0 {
			return utf8.Valid(b[i:]) // b[:i] is ASCII: b[i] starts a character
		}
	}
	for ; i+8 <= n; i += 8 {
		if binary.LittleEndian.Uint64(b[i:])&high != 0 {
			return utf8.Valid(b[i:])
		}
	}
	if i < n && n >= 8 {
		// The last word overlaps checked ASCII bytes, so it starts a character too.
		if binary.LittleEndian.Uint64(b[n-8:])&high != 0 {
			return utf8.Valid(b[n-8:])
		}
		return true
	}
	for ; i < n; i++ {
		if b[i] >= utf8.RuneSelf {
			return utf8.Valid(b[i:])
		}
	}
	return true
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
