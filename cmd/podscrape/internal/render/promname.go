package render

import (
	"strings"
	"unicode/utf8"
)

// The text format's escaping, which is not Go's: a label value or a quoted name escapes
// backslash, double quote and line feed, and nothing else (a tab or a control character
// is written as is); HELP text escapes backslash and line feed only. strconv.Quote would
// write \t, \x01 or \u00a0, which the format reads as unknown escapes.
var (
	quotedEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	helpEscaper   = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
)

// promMetricName writes a metric name outside braces (# HELP, # TYPE): as is when it is
// a classic name, else quoted as Prometheus 3 writes UTF-8 names.
func promMetricName(name string) string {
	if isClassicMetricName(name) {
		return name
	}
	return quoteName(name)
}

// promLabelName writes a label name: as is when classic, else quoted.
func promLabelName(name string) string {
	if isClassicLabelName(name) {
		return name
	}
	return quoteName(name)
}

// quoteName quotes a UTF-8 name as the text format does.
func quoteName(name string) string {
	return `"` + escapeLabelValue(name) + `"`
}

// escapeLabelValue escapes a label value (or a name to quote) for the text format. The
// format holds UTF-8 only: an invalid byte, which the parser never hands over, would be
// written as U+FFFD.
func escapeLabelValue(v string) string {
	v = validUTF8(v)
	if !strings.ContainsAny(v, "\\\"\n") {
		return v
	}
	return quotedEscaper.Replace(v)
}

// escapeHelp escapes the text of a # HELP line.
func escapeHelp(help string) string {
	help = validUTF8(help)
	if !strings.ContainsAny(help, "\\\n") {
		return help
	}
	return helpEscaper.Replace(help)
}

func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// isClassicMetricName reports whether name matches [a-zA-Z_:][a-zA-Z0-9_:]*.
func isClassicMetricName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c == '_' || c == ':' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// isClassicLabelName reports whether name matches [a-zA-Z_][a-zA-Z0-9_]*.
func isClassicLabelName(name string) bool {
	return !strings.Contains(name, ":") && isClassicMetricName(name)
}
