package httpheader

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// ReadTokenFile returns the token without its surrounding white space; a file of exactly
// MaxTokenFileBytes is a token, one a byte longer is refused naming the file, as are an
// empty one (ErrEmptyTokenFile), one holding a control character and a missing one, and
// no error quotes the content.
func TestReadTokenFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		t.Helper()
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	if got, err := ReadTokenFile(write("token", "  secret-token\n")); err != nil || got != "secret-token" {
		t.Errorf("ReadTokenFile of %q = %q, %v; want secret-token", "  secret-token\n", got, err)
	}
	full := strings.Repeat("a", MaxTokenFileBytes)
	if got, err := ReadTokenFile(write("full", full)); err != nil || got != full {
		t.Errorf("ReadTokenFile of %d bytes = %d bytes, %v; want the whole token", MaxTokenFileBytes, len(got), err)
	}
	for _, c := range []struct {
		name, content, want string
		empty               bool
	}{
		{"over", full + "a", "is over 64 KiB", false},
		{"empty", " \n\t", "is empty", true},
		{"newline", "secret\ntoken", "holds a newline or another control character", false},
	} {
		path := write(c.name, c.content)
		got, err := ReadTokenFile(path)
		if err == nil || got != "" || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), c.want) ||
			errors.Is(err, ErrEmptyTokenFile) != c.empty || strings.Contains(err.Error(), "secret") {
			t.Errorf("ReadTokenFile of the %s file = %d bytes, %v; want no token and an error naming %s, saying %q, not its content", c.name, len(got), err, path, c.want)
		}
	}
	missing := filepath.Join(dir, "missing")
	if _, err := ReadTokenFile(missing); err == nil || !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Errorf("ReadTokenFile of a missing file: %v; want an error naming it, wrapping os.ErrNotExist", err)
	}
}
