package pod

import (
	"errors"

	"github.com/podscrape/podscrape/internal/httpheader"
)

// readTokenFile reads the token in the file at path, now: a file the kubelet rotates
// (a projected ServiceAccount token) is replaced whole, by a symlink swap, so a read
// sees the old token or the new one. Errors name the file, never its content; an empty
// file is no token, its reason kept in bearer.missing, as for an empty Secret key.
func readTokenFile(path string) (bearer, error) {
	token, err := httpheader.ReadTokenFile(path)
	switch {
	case errors.Is(err, httpheader.ErrEmptyTokenFile):
		return bearer{missing: err.Error()}, nil
	case err != nil:
		return bearer{}, err
	}
	return bearer{token: token}, nil
}
