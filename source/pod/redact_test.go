package pod

import (
	"errors"
	"fmt"
	"testing"

	"github.com/podscrape/podscrape/internal/exposition"
)

func TestRedactToken(t *testing.T) {
	const token = "eyJhbGciOi.payload.signature"
	tests := []struct {
		name, msg, want string
	}{
		{"absent", "HTTP status 500", "HTTP status 500"},
		{"whole", `line 1: invalid value: "Bearer ` + token + `"`, `line 1: invalid value: "Bearer [REDACTED]"`},
		{"twice", token + " and " + token, "[REDACTED] and [REDACTED]"},
		{"cut short by a quote", `"Bearer eyJhbGciOi.pay..."`, `"Bearer [REDACTED]..."`},
		{"too short a prefix to tell", "eyJhbG", "eyJhbG"},
		{"in a URL", "redirect to \"http://x/?t=" + token + "&a=1\"", "redirect to \"http://x/?t=[REDACTED]&a=1\""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := redactToken(tc.msg, token); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestRedactKeepsTheChain(t *testing.T) {
	const token = "s3cr3t-token-value"
	parse := &exposition.ParseError{Line: 1, Input: "Bearer " + token, Msg: "invalid metric name"}
	err := redact(fmt.Errorf("parse text format body: %w", parse), token)
	var pe *exposition.ParseError
	if !errors.As(err, &pe) || pe.Line != 1 {
		t.Fatalf("errors.As: got %v, want the ParseError", err)
	}
	if got, want := err.Error(), `parse text format body: line 1: invalid metric name: "Bearer [REDACTED]"`; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	plain := errors.New("HTTP status 500")
	if got := redact(plain, token); got != plain {
		t.Fatalf("an error without the token: got %v, want it unwrapped", got)
	}
	if got := redact(plain, ""); got != plain {
		t.Fatalf("no token: got %v, want it unwrapped", got)
	}
}
