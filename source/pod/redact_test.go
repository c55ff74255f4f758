package pod

import (
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"net/url"
	"strconv"
	"strings"
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

// A token with characters that escaping changes is redacted in every form an error can
// show it: as is, %q, %+q, JSON, URL-escaped, HTML, quoted twice, cut short, and a mix
// (a Location that keeps a tab raw and percent-encodes an é, then quoted).
func TestRedactEveryFormOfTheToken(t *testing.T) {
	for _, token := range []string{
		`tok"en-canary-1f2e3d4c`,
		`tok\en-canary-5a6b7c8d`,
		`"\"both"\-canary-9e8d7c6b`,
		"tab\tand\u00e9-canary-0a1b2c3d",
	} {
		jsonForm, _ := json.Marshal("Bearer " + token)
		forms := map[string]string{
			"raw":           "line 1: Bearer " + token,
			"%q":            fmt.Sprintf("line 1: %q", "Bearer "+token),
			"%+q":           fmt.Sprintf("line 1: %+q", "Bearer "+token),
			"JSON":          "body " + string(jsonForm),
			"URL query":     "redirect to /login?auth=" + url.QueryEscape(token),
			"URL path":      "redirect to /login/" + url.PathEscape(token),
			"URL lower hex": "redirect to /login?auth=" + strings.ToLower(url.QueryEscape(token)),
			"HTML":          "<p>" + html.EscapeString(token) + "</p>",
			"%q of %q":      fmt.Sprintf("%q", fmt.Sprintf("line 1: %q", "Bearer "+token)),
			"%q cut short":  fmt.Sprintf("line 1: %q...", ("Bearer " + token)[:7+len(token)-6]),
			"mixed escapes": fmt.Sprintf("redirect to %q", "/login?auth="+strings.ReplaceAll(token, "\u00e9", "%c3%a9")),
		}
		for form, msg := range forms {
			t.Run(fmt.Sprintf("%q %s", token, form), func(t *testing.T) {
				err := redact(errors.New(msg), token)
				got := err.Error()
				if !strings.Contains(got, redactedText) {
					t.Fatalf("got %q, want the token redacted", got)
				}
				for _, f := range testForms(token) {
					for i := 0; i+minTokenPrefix <= len(f); i++ {
						if strings.Contains(got, f[i:i+minTokenPrefix]) {
							t.Fatalf("got %q, which shows %q of the token written %q", got, f[i:i+minTokenPrefix], f)
						}
					}
				}
			})
		}
	}
}

// testForms are the ways an error can write token that a reader could take it back from.
func testForms(token string) []string {
	inner := func(q string) string { return q[1 : len(q)-1] }
	j, _ := json.Marshal(token)
	return []string{token, inner(strconv.Quote(token)), inner(strconv.QuoteToASCII(token)),
		inner(string(j)), url.QueryEscape(token), url.PathEscape(token), html.EscapeString(token)}
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
