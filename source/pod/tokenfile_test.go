package pod

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/podscrape/podscrape/source"
)

// writeToken replaces the file at path with one holding content, by a rename, as the
// kubelet swaps a projected token in.
func writeToken(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".new"
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// A BearerTokenFile is read at every refresh: a token the kubelet rotated in the file is
// what the next refresh sends, as Prometheus reads credentials_file at every scrape.
func TestBearerTokenFileIsReadAtEveryRefresh(t *testing.T) {
	p, cfg := startAuthPod(t, "second-token", http.StatusUnauthorized)
	cfg.BearerTokenFile = filepath.Join(t.TempDir(), "token")
	writeToken(t, cfg.BearerTokenFile, "first-token\n")
	s, err := NewPodScrapingSource(context.Background(), cp.Client, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	if _, err := s.Refresh(context.Background(), source.RefreshSpec{}); err == nil {
		t.Fatal("the first token, which the pod refuses: got no error")
	}
	writeToken(t, cfg.BearerTokenFile, "second-token\n")
	if _, err := s.Refresh(context.Background(), source.RefreshSpec{}); err != nil {
		t.Fatalf("after the file was rotated: %v", err)
	}
	if got, want := p.requests(), []string{"Bearer first-token", "Bearer second-token"}; !slices.Equal(got, want) {
		t.Errorf("Authorization of the pod's requests: got %q, want %q", got, want)
	}
}

// A token file that gives no token says why: an empty one sends no token, and a pod that
// then answers 401 fails saying the file is empty; one that cannot be read, is too large,
// or holds a control character fails the refresh before any pod is asked, naming the
// file and never showing its content.
func TestBearerTokenFileThatGivesNoTokenSaysWhy(t *testing.T) {
	const secret = "s3cret-token-value"
	for _, tc := range []struct {
		name    string
		content string // "": no file
		want    string // %s: the file's path
	}{
		{"empty", " \n", "HTTP status 401 Unauthorized; no token was sent: bearer token file %s is empty"},
		{"missing", "", "bearer token file: open %s: no such file or directory"},
		{"control character", secret + "\x01" + secret, "bearer token file %s holds a newline or another control character a header cannot carry"},
		{"too large", strings.Repeat(secret, 4000), "bearer token file %s is over 64 KiB: not a token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, cfg := startAuthPod(t, secret, http.StatusUnauthorized)
			cfg.BearerTokenFile = filepath.Join(t.TempDir(), "token")
			if tc.content != "" {
				writeToken(t, cfg.BearerTokenFile, tc.content)
			}
			s, err := NewPodScrapingSource(context.Background(), cp.Client, cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(s.Close)
			_, err = s.Refresh(context.Background(), source.RefreshSpec{})
			want := strings.ReplaceAll(tc.want, "%s", cfg.BearerTokenFile)
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("got %v,\nwant an error containing %q", err, want)
			}
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("the error shows the file's content: %q", err)
			}
			var status *StatusError
			wantRequests := 0
			if errors.As(err, &status) {
				wantRequests = 1
			}
			if got := p.requests(); len(got) != wantRequests || wantRequests == 1 && got[0] != "" {
				t.Fatalf("Authorization of the pod's requests: got %q, want %d request(s), without it", got, wantRequests)
			}
		})
	}
}
