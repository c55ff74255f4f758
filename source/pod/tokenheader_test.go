package pod

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/podscrape/podscrape/source"
)

// A BearerToken no header can carry would fail every pod as a connection failure with
// net/http's "invalid header field value", naming nothing the caller set. It is
// refused up front, naming BearerToken and never showing the token; one with a tab or
// a non-ASCII byte, which a header carries, is sent as is.
func TestBearerTokenAHeaderCannotCarryIsRefused(t *testing.T) {
	tests := []struct {
		name, token, want string // want: "" when the token is accepted and sent
	}{
		{"trailing newline", "abcdefghijkl\n", "BearerToken starts or ends with a newline or another control character a header cannot carry (a token read from a file keeps its newline): trim it"},
		{"leading CR LF", "\r\nabcdefghijkl", "BearerToken starts or ends with a newline"},
		{"inner newline", "abcdef\nghijkl", "BearerToken holds a newline or another control character a header cannot carry"},
		{"inner NUL", "abcdef\x00ghijkl", "BearerToken holds a newline or another control character"},
		{"inner DEL", "abcdef\x7fghijkl", "BearerToken holds a newline or another control character"},
		{"inner tab", "abcdef\tghijkl", ""},
		{"non-ASCII", "abcdéfghijkl", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, cfg := startAuthPod(t, tc.token, http.StatusUnauthorized)
			cfg.BearerToken = tc.token
			s, err := NewPodScrapingSource(context.Background(), cp.Client, cfg)
			if tc.want != "" {
				if err == nil {
					s.Close()
					t.Fatalf("got no error, want one containing %q", tc.want)
				}
				if !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("got %q, want an error containing %q", err, tc.want)
				}
				if strings.Contains(err.Error(), strings.TrimSpace(tc.token)[:6]) {
					t.Fatalf("the error shows the token: %q", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(s.Close)
			if _, err := s.Refresh(context.Background(), source.RefreshSpec{}); err != nil {
				t.Fatal(err)
			}
			if got, want := p.requests(), []string{"Bearer " + tc.token}; len(got) != 1 || got[0] != want[0] {
				t.Fatalf("Authorization: got %q, want %q", got, want)
			}
		})
	}
}

// A Secret's token is trimmed at its ends (a newline written with it is sent without);
// one that still holds a control character inside fails the Refresh with an error naming
// the Secret and the key, never the value, and no pod is sent a request.
func TestSecretTokenAHeaderCannotCarryFailsTheRefresh(t *testing.T) {
	tests := []struct {
		name, value string
		want        string // "" when the trimmed value is sent
	}{
		{"trailing newline trimmed", "s3cret-token-value\n", ""},
		{"inner newline", "s3cret-token\nvalue", `metrics reader secret %s/reader: key "bearer" holds a newline or another control character a header cannot carry`},
		{"inner NUL", "s3cret-token\x00value", `metrics reader secret %s/reader: key "bearer" holds a newline`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, cfg := startAuthPod(t, strings.TrimSpace(tc.value), http.StatusUnauthorized)
			if err := cp.CreateTokenSecret(context.Background(), cfg.ServiceNamespace, "reader", "bearer", tc.value); err != nil {
				t.Fatal(err)
			}
			cfg.MetricsReaderSecretName, cfg.MetricsReaderSecretKey = "reader", "bearer"
			s, err := NewPodScrapingSource(context.Background(), cp.Client, cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(s.Close)
			_, err = s.Refresh(context.Background(), source.RefreshSpec{})
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if got, want := p.requests(), "Bearer "+strings.TrimSpace(tc.value); len(got) != 1 || got[0] != want {
					t.Fatalf("Authorization: got %q, want [%q]", got, want)
				}
				return
			}
			want := strings.ReplaceAll(tc.want, "%s", cfg.ServiceNamespace)
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("got %v, want an error containing %q", err, want)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Fatalf("the error shows the token: %q", err)
			}
			if got := p.requests(); len(got) != 0 {
				t.Fatalf("the pod got %d requests, want none", len(got))
			}
		})
	}
}
