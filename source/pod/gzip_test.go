package pod

import (
	"bytes"
	"compress/gzip"
	"io"
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
	for i, tc := range []struct {
		body  []byte
		want  string // what the body decodes to; "" when it must fail
		opens bool   // its gzip header reads
	}{
		{good, "queue 1\n", true},
		{corrupt, "", true},
		{zip("other 2\n"), "other 2\n", true}, // after a reader that failed
		{[]byte("not gzip"), "", false},
	} {
		gz, err := gzipReader(bytes.NewReader(tc.body))
		if !tc.opens {
			if err == nil {
				gzipReaders.Put(gz)
				t.Errorf("body %d: a body that is not gzip opened", i)
			}
			continue
		}
		if err != nil {
			t.Fatalf("body %d: %v", i, err)
		}
		got, err := io.ReadAll(gz)
		gzipReaders.Put(gz)
		switch {
		case tc.want == "" && err == nil:
			t.Errorf("body %d: a corrupt body decoded: %q", i, got)
		case tc.want != "" && (err != nil || string(got) != tc.want):
			t.Errorf("body %d: %q, %v; want %q", i, got, err, tc.want)
		}
	}
}
