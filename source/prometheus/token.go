package prometheus

import (
	"os"
	"sync"

	"github.com/podscrape/podscrape/internal/httpheader"
)

// staticToken returns a token source of one token.
func staticToken(token string) func() (string, error) {
	return func() (string, error) { return token, nil }
}

// fileToken reads a bearer token from a file, again whenever the file changes. Errors
// name the file, never its content. It is safe for concurrent use.
type fileToken struct {
	path string

	mu    sync.Mutex  // protects info and token
	info  os.FileInfo // of the file the token was read from
	token string
}

// get returns the file's token: the one read before while the file is unchanged (same
// inode, modification time and size, one stat per call), else the file's new content.
// When the file cannot be read or holds no usable token, the last token read is
// returned, if there is one.
func (f *fileToken) get() (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	info, err := os.Stat(f.path)
	if err == nil && f.info != nil && os.SameFile(f.info, info) &&
		info.ModTime().Equal(f.info.ModTime()) && info.Size() == f.info.Size() {
		return f.token, nil
	}
	token, err := f.read()
	if err != nil {
		if f.token != "" {
			return f.token, nil
		}
		return "", err
	}
	f.info, f.token = info, token
	return token, nil
}

func (f *fileToken) read() (string, error) { return httpheader.ReadTokenFile(f.path) }
