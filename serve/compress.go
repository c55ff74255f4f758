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
//
// Unlike Prometheus, an answer of at most minCompressed bytes goes as it is (as
// gzhttp's and nginx's minimum lengths do): the autoscalers' answers are a few hundred
// bytes, which compression does not shorten, and each compressor held for them is a
// heap of its own (about 650 KB of flate's tables: serve's memory, BENCH.md). Clients
// read either, as the header says.
func compressed(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Vary", "Accept-Encoding")
		encoding := acceptedEncoding(r.Header.Get("Accept-Encoding"))
		if encoding == "" {
			h(w, r)
			return
		}
		c := &compressedWriter{ResponseWriter: w, encoding: encoding}
		h(c, r)
		c.finish()
	}
}

// minCompressed is the size up to which an answer is sent as it is (see compressed).
const minCompressed = 1024

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

// compressedWriter writes a response's body through a compressor once it is more than
// minCompressed bytes; a shorter body, and its status, go as they are at finish.
type compressedWriter struct {
	http.ResponseWriter
	encoding string
	code     int    // the handler's status, held until the body's size decides; 0: 200
	buf      []byte // the body's first bytes, while they are at most minCompressed
	cw       compressor
}

func (c *compressedWriter) WriteHeader(code int) {
	if c.code == 0 {
		c.code = code
	}
}

func (c *compressedWriter) Write(p []byte) (int, error) {
	if c.cw == nil {
		if len(c.buf)+len(p) <= minCompressed {
			c.buf = append(c.buf, p...)
			return len(p), nil
		}
		c.start()
		if _, err := c.cw.Write(c.buf); err != nil {
			return 0, err
		}
		c.buf = nil
	}
	return c.cw.Write(p)
}

// start sends the status and compresses the body from here on.
func (c *compressedWriter) start() {
	switch c.encoding {
	case "gzip":
		c.cw = gzipWriters.Get().(*gzip.Writer)
	default:
		c.cw = zlibWriters.Get().(*zlib.Writer)
	}
	c.cw.Reset(c.ResponseWriter)
	c.Header().Set("Content-Encoding", c.encoding)
	c.Header().Del("Content-Length") // of the uncompressed body, if a handler set one
	c.ResponseWriter.WriteHeader(c.status())
}

func (c *compressedWriter) status() int {
	if c.code == 0 {
		return http.StatusOK
	}
	return c.code
}

// finish ends the answer: the compressor's last bytes, or the short body as it is.
func (c *compressedWriter) finish() {
	if c.cw == nil {
		c.ResponseWriter.WriteHeader(c.status())
		_, _ = c.ResponseWriter.Write(c.buf) // the client went away: nothing to tell
		return
	}
	_ = c.cw.Close() // the client went away: nothing to tell
	c.cw.Reset(nil)  // the pool keeps no ResponseWriter
	switch w := c.cw.(type) {
	case *gzip.Writer:
		gzipWriters.Put(w)
	case *zlib.Writer:
		zlibWriters.Put(w)
	}
}
