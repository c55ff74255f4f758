package exposition

import (
	"bytes"
	"errors"
	"io"
)

const (
	// minReadBuffer is the line reader's buffer to start with: a few typical reads.
	minReadBuffer = 64 << 10
	// maxRetainedBuffer is the largest buffer kept between expositions; a longer line
	// (a huge label value) gets a buffer of its own that is dropped afterwards.
	maxRetainedBuffer = 1 << 20
	// maxEmptyReads is how many (0, nil) reads in a row make a broken io.Reader, as in bufio.
	maxEmptyReads = 100
)

// lineReader splits a stream into lines without copying them out of its buffer, which
// is reused across streams and grows to hold the longest line. Scanning resumes where it
// stopped, and the buffer grows by doubling, so a line of any length costs linear time.
type lineReader struct {
	r          io.Reader
	buf        []byte
	start, end int   // unread data is buf[start:end]
	scanned    int   // buf[start:scanned] holds no '\n'
	err        error // sticky: io.EOF at the end of the stream, or the read error
	line       int   // 1-based number of the line last returned
}

func (lr *lineReader) reset(r io.Reader) {
	lr.r = r
	lr.start, lr.end, lr.scanned = 0, 0, 0
	lr.err = nil
	lr.line = 0
}

// release drops the reader and an oversized buffer once a stream is done.
func (lr *lineReader) release() {
	lr.r = nil
	if cap(lr.buf) > maxRetainedBuffer {
		lr.buf = nil
	}
}

// next returns the next line without its '\n'; the line is valid until the next call.
// It returns false at the end of the stream, or on a read error (then readErr is set).
// The stream's last line is returned even without its '\n'.
func (lr *lineReader) next() ([]byte, bool) {
	for {
		if i := bytes.IndexByte(lr.buf[lr.scanned:lr.end], '\n'); i >= 0 {
			nl := lr.scanned + i
			line := lr.buf[lr.start:nl]
			lr.start, lr.scanned = nl+1, nl+1
			lr.line++
			return line, true
		}
		lr.scanned = lr.end
		if lr.err != nil {
			if lr.err != io.EOF || lr.start == lr.end {
				return nil, false
			}
			line := lr.buf[lr.start:lr.end]
			lr.start = lr.end
			lr.line++
			return line, true
		}
		lr.fill()
	}
}

// readErr returns the read error that ended the stream, nil at a clean end.
func (lr *lineReader) readErr() error {
	if lr.err == io.EOF {
		return nil
	}
	return lr.err
}

// fill reads more data, first making room: it moves the unread data to the front, and
// doubles the buffer when the unread data fills it.
func (lr *lineReader) fill() {
	if lr.start > 0 {
		n := copy(lr.buf, lr.buf[lr.start:lr.end])
		lr.scanned -= lr.start
		lr.start, lr.end = 0, n
	}
	if lr.end == len(lr.buf) {
		buf := make([]byte, max(2*len(lr.buf), minReadBuffer))
		copy(buf, lr.buf[:lr.end])
		lr.buf = buf
	}
	for range maxEmptyReads {
		n, err := lr.r.Read(lr.buf[lr.end:])
		if n < 0 || n > len(lr.buf)-lr.end {
			lr.err = errors.New("invalid read count from io.Reader")
			return
		}
		lr.end += n
		if err != nil {
			lr.err = err
			return
		}
		if n > 0 {
			return
		}
	}
	lr.err = io.ErrNoProgress
}

// retained returns the bytes the reader keeps between streams.
func (lr *lineReader) retained() int { return cap(lr.buf) }
