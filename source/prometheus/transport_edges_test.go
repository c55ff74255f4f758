package prometheus

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// Header names are RFC 9110 tokens: the characters at the edges of each accepted range,
// and each listed symbol, pass; their neighbours are refused. Values may hold spaces and
// tabs, never another control character.
func TestHeaderNameAndValueEdges(t *testing.T) {
	for _, name := range []string{"a", "z", "A", "Z", "0", "9", "!", "~", "X-Scope-OrgID", "x!#$%&'*+-.^_`|~"} {
		if _, err := NewAPI(ClientConfig{URL: "http://127.0.0.1:9090", Headers: map[string]string{name: "v"}}); err != nil {
			t.Errorf("header name %q: %v, want it accepted", name, err)
		}
	}
	for _, name := range []string{"(", "\"", "{", "@", "[", "/", ":", " ", "a b", "é", ""} {
		if _, err := NewAPI(ClientConfig{URL: "http://127.0.0.1:9090", Headers: map[string]string{name: "v"}}); err == nil {
			t.Errorf("header name %q: accepted, want refused", name)
		}
	}
	for _, value := range []string{"tenant a", "a\tb", "~", ""} {
		if _, err := NewAPI(ClientConfig{URL: "http://127.0.0.1:9090", Headers: map[string]string{"X": value}}); err != nil {
			t.Errorf("header value %q: %v, want it accepted", value, err)
		}
	}
	for _, value := range []string{"a\x1fb", "a\nb", "a\rb", "a\x00", "a\x7f"} {
		if _, err := NewAPI(ClientConfig{URL: "http://127.0.0.1:9090", Headers: map[string]string{"X": value}}); err == nil {
			t.Errorf("header value %q: accepted, want refused", value)
		}
	}
}

// A body of exactly MaxResponseBytes is read whole even when its end comes in a read of
// its own (a chunked answer's terminating chunk); one byte more is too large.
func TestLimitedBodyEndsAtTheLimit(t *testing.T) {
	for _, tt := range []struct {
		limit   int64
		wantErr bool
	}{{3, false}, {2, true}} {
		b := &limitedBody{body: io.NopCloser(iotest.OneByteReader(strings.NewReader("abc"))), left: tt.limit, limit: tt.limit}
		got, err := io.ReadAll(b)
		if errors.Is(err, ErrResponseTooLarge) != tt.wantErr || (!tt.wantErr && (err != nil || string(got) != "abc")) {
			t.Errorf("limit %d, body abc read a byte at a time: got %q, %v; want ErrResponseTooLarge %v", tt.limit, got, err, tt.wantErr)
		}
	}
}
