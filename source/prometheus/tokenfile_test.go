package prometheus

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A BearerTokenFile that is not a token (a log, a device: /dev/zero would be read until
// memory runs out) is refused naming the file, as source/pod refuses one, instead of read
// whole and sent in a header no server takes.
func TestBearerTokenFileOverTheBoundIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(path, bytes.Repeat([]byte("a"), 1<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := NewAPI(ClientConfig{URL: "http://127.0.0.1:9", BearerTokenFile: path})
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "over 64 KiB") {
		t.Fatalf("NewAPI with a 1 MiB token file: got %v; want an error naming the file and the bound", err)
	}
}
