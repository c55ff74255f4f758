package pod

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/podscrape/podscrape/source"
)

// gzipped compresses body into one gzip member at level.
func gzipped(t *testing.T, body string, level int) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := gzip.NewWriterLevel(&b, level)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = w.Write([]byte(body))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// serveGzip answers body as a text exposition labelled Content-Encoding gzip, declaring
// length bytes (len(body) when 0): more than it writes cuts the connection mid-body.
func serveGzip(body []byte, length int) http.Handler {
	if length == 0 {
		length = len(body)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Set("Content-Length", strconv.Itoa(length))
		_, _ = w.Write(body)
	})
}

// A pod that answered 200 with a body its Content-Encoding gzip does not describe is not a
// connection failure. A body that does not start as gzip is mislabelled: content_type,
// as a wrong Content-Type or another encoding. A gzip stream that breaks part-way (corrupt
// data, a checksum that does not match, a stream cut short in a response that ended
// cleanly) is a malformed body: parse. A connection that drops mid-body stays connect.
func TestGzipBodyFailuresHaveTheirReason(t *testing.T) {
	lines := strings.Repeat("# a comment line to fill the body past one stored block\n", 1500) + "m 5\n"
	good := gzipped(t, lines, gzip.BestCompression)

	badChecksum := bytes.Clone(good)
	badChecksum[len(badChecksum)-8] ^= 0xff // the CRC-32 of the trailer

	// Stored (uncompressed) blocks of at most 65535 bytes: the second block's header,
	// after the 10-byte gzip header, the first block's 5-byte header and its 65535 bytes,
	// has its length's complement (NLEN) broken, so the stream fails after its first block.
	corrupt := gzipped(t, lines, gzip.NoCompression)
	corrupt[10+5+65535+3] ^= 0xff
	zr, err := gzip.NewReader(bytes.NewReader(corrupt))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(zr); !errors.As(err, new(flate.CorruptInputError)) {
		t.Fatalf("the corrupt body decodes with %v, want a flate.CorruptInputError", err)
	}

	tests := []struct {
		name    string
		handler http.Handler
		reason  string
		msg     string
		is      error
	}{
		{"not gzip", serveGzip([]byte("# TYPE m gauge\nm 5\n"), 0), ReasonFormat,
			`Content-Encoding "gzip", but the body is not gzip: gzip: invalid header`, errGzipHeader},
		{"empty body", serveGzip(nil, 0), ReasonFormat,
			`Content-Encoding "gzip", but the body is not gzip: EOF`, errGzipHeader},
		{"corrupt data", serveGzip(corrupt, 0), ReasonParse,
			"gzip body broken part-way: flate: corrupt input before offset", errGzipStream},
		{"bad checksum", serveGzip(badChecksum, 0), ReasonParse,
			"gzip body broken part-way: gzip: invalid checksum", errGzipStream},
		{"stream cut short, response complete", serveGzip(good[:len(good)/2], 0), ReasonParse,
			"gzip body broken part-way: unexpected EOF", errGzipStream},
		{"connection cut mid-body", serveGzip(good[:len(good)/2], len(good)), ReasonConnect,
			"unexpected EOF", io.ErrUnexpectedEOF},
		{"connection cut in the gzip header", serveGzip(good[:4], len(good)), ReasonConnect,
			"unexpected EOF", io.ErrUnexpectedEOF},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := NewPodScrapingSource(context.Background(), cp.Client, startHandlerPod(t, tc.handler))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(s.Close)
			_, err = s.Refresh(context.Background(), source.RefreshSpec{})
			var se *ScrapeError
			if !errors.As(err, &se) {
				t.Fatalf("got %v, want a *ScrapeError", err)
			}
			if got := ScrapeReason(se); got != tc.reason {
				t.Errorf("reason: got %q, want %q (%v)", got, tc.reason, se)
			}
			if !strings.Contains(se.Error(), tc.msg) || !errors.Is(se, tc.is) {
				t.Errorf("got %q, want it to contain %q and wrap %v", se, tc.msg, tc.is)
			}
			if tc.reason == ReasonConnect && (errors.Is(se, errGzipHeader) || errors.Is(se, errGzipStream)) {
				t.Errorf("a connection failure is marked as the body's: %v", se)
			}
		})
	}

	// The control: the same body intact is scraped.
	s, err := NewPodScrapingSource(context.Background(), cp.Client, startHandlerPod(t, serveGzip(good, 0)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	res, err := s.Refresh(context.Background(), source.RefreshSpec{})
	if err != nil {
		t.Fatal(err)
	}
	if st := res[AllMetricsQuery].PodStatuses(); len(st) != 1 || !st[0].Up || st[0].Samples != 1 {
		t.Fatalf("the intact body: got %+v, want one pod up with 1 sample", st)
	}
}
