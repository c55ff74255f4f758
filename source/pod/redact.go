package pod

import (
	"encoding/json"
	"fmt"
	"html"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// redactedText replaces the token wherever an error message would show it.
const redactedText = "[REDACTED]"

// minTokenPrefix is the shortest prefix of the token that redact treats as the token cut
// short: a quoted input is truncated, and may end part-way through an echoed token.
const minTokenPrefix = 8

// redactedError shows its error's message with the token removed. errors.Is and
// errors.As still reach the error it wraps, whose fields are left as the pod sent them.
type redactedError struct {
	err error
	m   *tokenMatcher
}

func (e *redactedError) Error() string { return e.m.redact(e.err.Error()) }

func (e *redactedError) Unwrap() error { return e.err }

// redact wraps err when its message shows token in any form. A pod may echo the
// Authorization header it was sent into a body that a parse error quotes, or into a
// redirect's Location; the error then goes to logs and to every caller, who must never
// see the token.
func redact(err error, token string) error {
	if err == nil || token == "" {
		return err
	}
	m := newTokenMatcher(token)
	if msg := err.Error(); m.redact(msg) == msg {
		return err
	}
	return &redactedError{err: err, m: m}
}

// redactToken replaces in msg every occurrence of token, in any form, and every prefix
// of it at least minTokenPrefix bytes long.
func redactToken(msg, token string) string { return newTokenMatcher(token).redact(msg) }

// tokenMatcher finds a token in text however each of its characters was written: as is,
// or as an escaping that quotes it writes it (Go's %q and %+q, once or twice; JSON; URL
// percent-encoding in either case; HTML), and whatever mix of them a message holds (a
// Location header may keep a tab raw and percent-encode an é).
type tokenMatcher struct {
	chars [][]string // per character of the token: its forms, longest first
	sizes []int      // per character: its bytes in the token
	need  int        // token bytes a match must cover: the whole token, or minTokenPrefix
}

func newTokenMatcher(token string) *tokenMatcher {
	m := &tokenMatcher{need: min(len(token), minTokenPrefix)}
	for i := 0; i < len(token); {
		r, size := utf8.DecodeRuneInString(token[i:])
		m.chars = append(m.chars, charForms(token[i:i+size], r == utf8.RuneError && size == 1))
		m.sizes = append(m.sizes, size)
		i += size
	}
	return m
}

// charForms returns the ways error text may write the character c (invalid: a byte that
// is not UTF-8), longest first.
func charForms(c string, invalid bool) []string {
	inner := func(q string) string { return q[1 : len(q)-1] }
	forms := []string{c}
	var hexUpper, hexLower strings.Builder
	for i := 0; i < len(c); i++ {
		fmt.Fprintf(&hexUpper, "%%%02X", c[i])
		fmt.Fprintf(&hexLower, "%%%02x", c[i])
	}
	forms = append(forms, hexUpper.String(), hexLower.String())
	if invalid {
		forms = append(forms, fmt.Sprintf(`\x%02x`, c[0]), fmt.Sprintf(`\\x%02x`, c[0]))
	} else {
		quoted := []string{inner(strconv.Quote(c)), inner(strconv.QuoteToASCII(c)), inner(strconv.QuoteToGraphic(c))}
		if b, err := json.Marshal(c); err == nil {
			quoted = append(quoted, inner(string(b)))
		}
		for _, q := range quoted {
			forms = append(forms, q, inner(strconv.Quote(q))) // and quoted again
		}
		forms = append(forms, url.QueryEscape(c), html.EscapeString(c))
	}
	slices.SortFunc(forms, func(a, b string) int { return len(b) - len(a) })
	return slices.Compact(forms)
}

// match returns the end of the token's longest prefix written at msg[i:], and how many
// bytes of the token it covers.
func (m *tokenMatcher) match(msg string, i int) (end, covered int) {
	end = i
	for k, forms := range m.chars {
		next := -1
		for _, f := range forms {
			if strings.HasPrefix(msg[end:], f) {
				next = end + len(f)
				break
			}
		}
		if next < 0 {
			break
		}
		end = next
		covered += m.sizes[k]
	}
	return end, covered
}

// redact replaces in msg every occurrence of the token, and every prefix of it at least
// minTokenPrefix bytes long (what a truncated quote leaves of it), in any of its forms.
func (m *tokenMatcher) redact(msg string) string {
	var b strings.Builder
	last := 0 // msg[:last] is written
	for i := 0; i < len(msg); {
		if end, covered := m.match(msg, i); covered >= m.need {
			b.WriteString(msg[last:i])
			b.WriteString(redactedText)
			i, last = end, end
			continue
		}
		i++
	}
	if last == 0 {
		return msg
	}
	b.WriteString(msg[last:])
	return b.String()
}
