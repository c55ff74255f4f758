package pod

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/podscrape/podscrape/internal/httpheader"
)

// maxTokenFileBytes bounds what is read of a token file: a ServiceAccount token is a
// few KiB, and a path mistaken for the token's (a log, a device) must not be read whole
// at every refresh, nor sent in a header no server accepts.
const maxTokenFileBytes = 64 << 10

// readTokenFile reads the token in the file at path, now: a file the kubelet rotates
// (a projected ServiceAccount token) is replaced whole, by a symlink swap, so a read
// sees the old token or the new one. Errors name the file, never its content; an empty
// file is no token, its reason kept in bearer.missing, as for an empty Secret key.
func readTokenFile(path string) (bearer, error) {
	f, err := os.Open(path)
	if err != nil {
		return bearer{}, fmt.Errorf("bearer token file: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxTokenFileBytes+1))
	if err != nil {
		return bearer{}, fmt.Errorf("bearer token file: %w", err)
	}
	if len(b) > maxTokenFileBytes {
		return bearer{}, fmt.Errorf("bearer token file %s is over %d KiB: not a token", path, maxTokenFileBytes>>10)
	}
	token := strings.TrimSpace(string(b))
	switch {
	case token == "":
		return bearer{missing: fmt.Sprintf("bearer token file %s is empty", path)}, nil
	case !httpheader.ValidValue(token):
		// Sent, it would fail every pod with net/http's "invalid header field value",
		// which names no file.
		return bearer{}, fmt.Errorf("bearer token file %s holds a newline or another control character a header cannot carry", path)
	}
	return bearer{token: token}, nil
}
