package source

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Parameter names the autoscaler's queries use.
const (
	// ParamNamespace is the namespace of the workload a query is about.
	ParamNamespace = "namespace"
	// ParamModelID is the model a query is about (vLLM's model_name label).
	ParamModelID = "modelID"
	// ParamPodFilter is an optional regular expression over pod names.
	ParamPodFilter = "podFilter"
)

// Build returns the registered query name with its {{.param}} placeholders filled from
// params, escaped for where each placeholder stands (see FillTemplate). It is safe for
// concurrent use. Pass values as they are: the upstream autoscaler's Build substitutes
// them as given and its callers escape them with EscapePromQLValue first, which here
// would escape them twice.
func (l *QueryList) Build(name string, params map[string]string) (string, error) {
	q, ok := l.lookup(name)
	if !ok {
		return "", fmt.Errorf("query %q is not registered", name)
	}
	return FillTemplate(q, params)
}

// FillTemplate returns q.Template with every {{.name}} placeholder (spaces inside the
// braces allowed) replaced by params[name]. A value can never change the shape of the
// query:
//
//   - inside a PromQL string literal ("…" or '…') it is escaped: backslash, the
//     literal's quote, newline, carriage return, tab, every other control character or
//     invalid UTF-8 byte, and U+FFFD, which Prometheus' lexer refuses raw even when
//     validly encoded (so model_name="{{.modelID}}" matches the model ID exactly;
//     inside a regular expression matcher, =~, the value is still a regular expression);
//   - inside a raw `…` literal, which escapes nothing, a value holding a backtick,
//     invalid UTF-8 or U+FFFD is refused;
//   - inside the brackets of a range or subquery ([{{.retentionPeriod}}]) the value must
//     be a duration or a number: ASCII letters, digits and '.', starting with a digit (so
//     "5m:1m" cannot turn a range into a subquery);
//   - anywhere else (a number, a metric name) the value must be a number, duration or
//     name: ASCII letters, digits, '_', ':' and '.' only.
//
// Every parameter q.Params lists and every placeholder must have a value in params;
// params the template does not use are ignored. The error names the query and the
// parameter.
func FillTemplate(q QueryTemplate, params map[string]string) (string, error) {
	for _, p := range q.Params {
		if _, ok := params[p]; !ok {
			return "", fmt.Errorf("query %q: parameter %q is missing", q.Name, p)
		}
	}
	out, err := fill(q.Template, func(name string) (string, bool) {
		v, ok := params[name]
		return v, ok
	})
	if err != nil {
		return "", fmt.Errorf("query %q: %w", q.Name, err)
	}
	return out, nil
}

// checkTemplate reports a template that no params can fill: a {{ not closed, or an action
// other than {{.param}}. It fills every placeholder with "1", a value every position
// takes, so it fails exactly where FillTemplate would whatever the params.
func checkTemplate(template string) error {
	_, err := fill(template, func(string) (string, bool) { return "1", true })
	return err
}

// fill returns template with its placeholders replaced by value(name), escaped for where
// each stands (see FillTemplate).
func fill(t string, value func(name string) (string, bool)) (string, error) {
	if !strings.Contains(t, "{{") {
		return t, nil
	}
	var b strings.Builder
	b.Grow(len(t) + 32)
	ctx := ctxCode
	for i := 0; i < len(t); {
		if strings.HasPrefix(t[i:], "{{") {
			end := strings.Index(t[i:], "}}")
			if end < 0 {
				return "", fmt.Errorf("template: %q at offset %d is not closed by }}", "{{", i)
			}
			action := strings.TrimSpace(t[i+2 : i+end])
			name, ok := strings.CutPrefix(action, ".")
			if !ok || name == "" || strings.ContainsAny(name, " .|()") {
				return "", fmt.Errorf("template: {{%s}} is not a {{.param}} placeholder", action)
			}
			v, ok := value(name)
			if !ok {
				return "", fmt.Errorf("parameter %q is missing", name)
			}
			if err := ctx.write(&b, v); err != nil {
				return "", fmt.Errorf("parameter %q: %w", name, err)
			}
			i += end + 2
			continue
		}
		c := t[i]
		b.WriteByte(c)
		i++
		switch {
		case ctx == ctxCode && (c == '"' || c == '\'' || c == '`'):
			ctx = lexContext(c)
		case ctx == ctxCode && c == '#':
			ctx = ctxComment
		case ctx == ctxCode && c == '[':
			ctx = ctxRange
		case ctx == ctxRange && c == ']':
			ctx = ctxCode
		case ctx == ctxComment && (c == '\n' || c == '\r'):
			ctx = ctxCode // Prometheus' lexer ends a comment at either (isEndOfLine)
		case (ctx == ctxDouble || ctx == ctxSingle) && c == '\\' && i < len(t):
			b.WriteByte(t[i]) // an escaped character never ends the literal
			i++
		case (ctx == ctxDouble || ctx == ctxSingle || ctx == ctxRaw) && c == byte(ctx):
			ctx = ctxCode
		}
	}
	return b.String(), nil
}

// EscapePromQLValue returns value escaped for a double-quoted PromQL string literal:
// backslash, double quote, every control character or invalid UTF-8 byte, and U+FFFD. It
// is what FillTemplate does to a value between double quotes.
func EscapePromQLValue(value string) string {
	var b strings.Builder
	escapeInto(&b, value, '"')
	return b.String()
}

// lexContext is where a placeholder stands in a PromQL expression: in code, in a comment,
// between the brackets of a range, or in a string literal (the value is its quote
// character).
type lexContext byte

const (
	ctxCode    lexContext = 0
	ctxComment lexContext = '#'
	ctxRange   lexContext = '['
	ctxDouble  lexContext = '"'
	ctxSingle  lexContext = '\''
	ctxRaw     lexContext = '`'
)

func (c lexContext) write(b *strings.Builder, v string) error {
	switch c {
	case ctxDouble, ctxSingle:
		escapeInto(b, v, byte(c))
	case ctxRaw:
		if strings.ContainsRune(v, '`') {
			return fmt.Errorf("value %q holds a backtick and stands in a raw `…` string", v)
		}
		if strings.ContainsRune(v, utf8.RuneError) { // invalid UTF-8 decodes as U+FFFD too
			return fmt.Errorf("value %q holds invalid UTF-8 or U+FFFD, which Prometheus' lexer refuses, and stands in a raw `…` string, which has no escapes", v)
		}
		b.WriteString(v)
	case ctxComment:
		if strings.ContainsAny(v, "\r\n") {
			return fmt.Errorf("value %q holds a line break and stands in a comment", v)
		}
		b.WriteString(v)
	case ctxRange:
		if !isDuration(v) {
			return fmt.Errorf("value %q stands in a range's brackets and is not a duration or number (a digit, then letters, digits and '.')", v)
		}
		b.WriteString(v)
	default:
		if !isBareToken(v) {
			return fmt.Errorf("value %q stands outside a string literal and is not a number, duration or name (letters, digits, '_', ':', '.')", v)
		}
		b.WriteString(v)
	}
	return nil
}

func isBareToken(v string) bool {
	if v == "" {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == ':' || c == '.') {
			return false
		}
	}
	return true
}

// isDuration reports whether v may stand between a range's brackets: a bare token that
// starts with a digit and holds no '_' or ':'.
func isDuration(v string) bool {
	return isBareToken(v) && '0' <= v[0] && v[0] <= '9' && !strings.ContainsAny(v, "_:")
}

// escapeInto writes v escaped for a PromQL string literal quoted by quote.
func escapeInto(b *strings.Builder, v string, quote byte) {
	const hex = "0123456789abcdef"
	for i := 0; i < len(v); {
		r, size := utf8.DecodeRuneInString(v[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteString(`\x`)
			b.WriteByte(hex[v[i]>>4])
			b.WriteByte(hex[v[i]&0xf])
		case r == utf8.RuneError:
			// A valid U+FFFD: the lexer cannot tell it from a decoding error and refuses it.
			b.WriteString(`\ufffd`)
		case r == '\\' || r == rune(quote):
			b.WriteByte('\\')
			b.WriteByte(byte(r))
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			b.WriteString(`\x`)
			b.WriteByte(hex[r>>4])
			b.WriteByte(hex[r&0xf])
		default:
			b.WriteString(v[i : i+size])
		}
		i += size
	}
}
