package pod

import "strings"

// redactedText replaces the token wherever an error message would show it.
const redactedText = "[REDACTED]"

// minTokenPrefix is the shortest prefix of the token that redact treats as the token cut
// short: a quoted input is truncated, and may end part-way through an echoed token.
const minTokenPrefix = 8

// redactedError shows its error's message with the token removed. errors.Is and
// errors.As still reach the error it wraps, whose fields are left as the pod sent them.
type redactedError struct {
	err   error
	token string
}

func (e *redactedError) Error() string { return redactToken(e.err.Error(), e.token) }

func (e *redactedError) Unwrap() error { return e.err }

// redact wraps err when its message shows token. A pod may echo the Authorization header
// it was sent into a body that a parse error quotes, or into a redirect's Location; the
// error then goes to logs and to every caller, who must never see the token.
func redact(err error, token string) error {
	if err == nil || token == "" || redactToken(err.Error(), token) == err.Error() {
		return err
	}
	return &redactedError{err: err, token: token}
}

// redactToken replaces in msg every occurrence of token, and every prefix of it at least
// minTokenPrefix bytes long (what a truncated quote leaves of it).
func redactToken(msg, token string) string {
	msg = strings.ReplaceAll(msg, token, redactedText)
	probe := token[:min(len(token), minTokenPrefix)]
	var b strings.Builder
	for {
		i := strings.Index(msg, probe)
		if i < 0 {
			break
		}
		n := len(probe)
		for n < len(token) && i+n < len(msg) && msg[i+n] == token[n] {
			n++
		}
		b.WriteString(msg[:i])
		b.WriteString(redactedText)
		msg = msg[i+n:]
	}
	b.WriteString(msg)
	return b.String()
}
