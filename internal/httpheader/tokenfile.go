package httpheader

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// MaxTokenFileBytes bounds what ReadTokenFile reads: a ServiceAccount token is a few
// KiB, and a path mistaken for the token's (a log, a device such as /dev/zero) must not
// be read whole, nor sent in a header no server accepts.
const MaxTokenFileBytes = 64 << 10

// ErrEmptyTokenFile is wrapped by ReadTokenFile's error for a file holding only white
// space: a caller may take it as no token rather than as a failure.
var ErrEmptyTokenFile = errors.New("empty")

// ReadTokenFile reads the bearer token in the file at path, surrounding white space
// ignored. Its errors name the file, never its content: one over MaxTokenFileBytes, an
// empty one (wrapping ErrEmptyTokenFile) and one a header cannot carry (ValidValue) are
// refused.
func ReadTokenFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("bearer token file: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxTokenFileBytes+1))
	if err != nil {
		return "", fmt.Errorf("bearer token file: %w", err)
	}
	if len(b) > MaxTokenFileBytes {
		return "", fmt.Errorf("bearer token file %s is over %d KiB: not a token", path, MaxTokenFileBytes>>10)
	}
	token := strings.TrimSpace(string(b))
	switch {
	case token == "":
		return "", fmt.Errorf("bearer token file %s is %w", path, ErrEmptyTokenFile)
	case !ValidValue(token):
		// Sent, it would fail every request with net/http's "invalid header field
		// value", which names no file.
		return "", fmt.Errorf("bearer token file %s holds a newline or another control character a header cannot carry", path)
	}
	return token, nil
}
