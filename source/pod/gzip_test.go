package pod

import (
	"bytes"
	"compress/gzip"
	"io"
	"strings"
	"testing"
)

// A pooled gzip reader decodes each body it is given, also after one that failed.
func TestGzipReaderReused(t *testing.T) {
	zip := func(s string) []byte {
		var b bytes.Buffer
		w := gzip.NewWriter(&b)
		_, _ = w.Write([]byte(s))
		_ = w.Close()
		return b.Bytes()
	}
	good := zip("queue 1\n")
	corrupt := append([]byte(nil), good...)
	corrupt[len(corrupt)-10] ^= 0xff // the deflate stream or its checksum broken
	for i, body := range [][]byte{good, corrupt, zip("other 2\n"), []byte("not gzip")} {
		gz, err := gzipReader(bytes.NewReader(body))
		if i == 3 {
			if err == nil {
				t.Error("a body that is not gzip opened")
			}
			continue
		}
		if err != nil {
			t.Fatalf("body %d: %v", i, err)
		}
		got, err := io.ReadAll(gz)
		gzipReaders.Put(gz)
		switch {
		case i == 1 && err == nil:
			t.Errorf("a corrupt body decoded: %q", got)
		case i != 1 && (err != nil || !strings.HasSuffix(string(got), " 1\n") && !strings.HasSuffix(string(got), " 2\n")):
			t.Errorf("body %d: %q, %v", i, got, err)
		case i == 2 && string(got) != "other 2\n":
			t.Errorf("the reader reused after a corrupt body read %q, want the new body", got)
		}
	}
}
