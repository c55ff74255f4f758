package serve

import (
	"compress/gzip"
	"compress/zlib"
	"io"
	"net/http"
	"strings"
	"sync"
)

// compressed serves h's answers compressed as Prometheus serves its API's and /federate's
// (util/httputil's CompressionHandler): gzip or deflate, whichever of the two the
// request's Accept-Encoding lists first (q-values are not read: "gzip;q=0.5" is not
// gzip), else as they are; with Vary: Accept-Encoding either way. Grafana's and
// client_golang's clients ask for gzip, and a range query's JSON shrinks several times.
func compressed(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Vary", "Accept-Encoding")
		encoding := acceptedEncoding(r.Header.Get("Accept-Encoding"))
		var cw compressor
		switch encoding {
		case "gzip":
			gz := gzipWriters.Get().(*gzip.Writer)
			defer gzipWriters.Put(gz)
			cw = gz
		case "deflate":
			zw := zlibWriters.Get().(*zlib.Writer)
			defer zlibWriters.Put(zw)
			cw = zw
		default:
			h(w, r)
			return
		}
		cw.Reset(w)
		w.Header().Set("Content-Encoding", encoding)
		h(&compressedWriter{ResponseWriter: w, w: cw}, r)
		_ = cw.Close() // the client went away: nothing to tell
		cw.Reset(nil)  // the pool keeps no ResponseWriter
	}
}

// compressor is a gzip or zlib writer.
type compressor interface {
	io.WriteCloser
	Reset(io.Writer)
}

// The compressors are reused: each holds several hundred KB of tables, which a poll per
// second per client would otherwise allocate anew. They compress at BestSpeed, not
// Prometheus' default level: the default level clears 640 KB of hash tables at every
// Reset, most of the cost of compressing an autoscaler's answer of a few hundred bytes
// (7 % of serve's CPU in the side-by-side benchmark), where BestSpeed's Reset clears
// nothing. The client decodes the same bytes either way; only the ratio differs, a few
// percent on JSON.
var (
	gzipWriters = sync.Pool{New: func() any {
		w, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed) // a valid level: no error
		return w
	}}
	zlibWriters = sync.Pool{New: func() any {
		w, _ := zlib.NewWriterLevel(nil, zlib.BestSpeed) // a valid level: no error
		return w
	}}
)

// acceptedEncoding is the first of gzip and deflate that an Accept-Encoding value lists,
// or "".
func acceptedEncoding(accept string) string {
	for part := range strings.SplitSeq(accept, ",") {
		switch e := strings.TrimSpace(part); e {
		case "gzip", "deflate":
			return e
		}
	}
	return ""
}

// compressedWriter writes a response's body through a compressor.
type compressedWriter struct {
	http.ResponseWriter
	w io.Writer
}

func (c *compressedWriter) WriteHeader(code int) {
	c.Header().Del("Content-Length") // of the uncompressed body, if a handler set one
	c.ResponseWriter.WriteHeader(code)
}

func (c *compressedWriter) Write(p []byte) (int, error) {
	c.Header().Del("Content-Length")
	return c.w.Write(p)
}
