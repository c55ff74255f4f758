package render

import (
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// timestampLayout is how the table formats write times: RFC 3339, milliseconds, UTC.
const timestampLayout = "2006-01-02T15:04:05.000Z07:00"

// formatValue writes v exactly, as the text format does: shortest round-tripping form,
// NaN, +Inf, -Inf.
func formatValue(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// formatQueryValue writes a computed value for a person: 15 significant digits (what a
// float64 holds exactly in decimal), so the float noise of arithmetic does not show
// (0.07500000000000001 is 0.075), shortest form, NaN, +Inf, -Inf. The json output keeps
// formatValue's exact form, as Prometheus' API does.
func formatQueryValue(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return formatValue(v)
	}
	return strconv.FormatFloat(v, 'g', 15, 64)
}

// formatDelta writes a change of value with its sign and at most 6 significant digits, so
// that float noise (0.1+0.2) does not show.
func formatDelta(d float64) string {
	if math.IsNaN(d) || math.IsInf(d, 0) {
		return "changed"
	}
	s := strconv.FormatFloat(d, 'g', 6, 64)
	if d > 0 {
		s = "+" + s
	}
	return s
}

// formatSeconds writes a scrape duration with three significant digits: 1.23ms.
func formatSeconds(sec float64) string {
	if math.IsNaN(sec) || sec < 0 {
		return "-"
	}
	d := time.Duration(sec * float64(time.Second))
	switch {
	case d >= time.Second:
		d = d.Round(10 * time.Millisecond)
	case d >= 100*time.Millisecond:
		d = d.Round(time.Millisecond)
	case d >= 10*time.Millisecond:
		d = d.Round(100 * time.Microsecond)
	case d >= time.Millisecond:
		d = d.Round(10 * time.Microsecond)
	case d >= 100*time.Microsecond:
		d = d.Round(time.Microsecond)
	}
	return d.String()
}

// cell makes s safe for a table cell: control characters (tabs, line feeds) would break
// the columns, so a string holding any is quoted.
func cell(s string) string {
	if strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return strconv.Quote(s)
	}
	return s
}
