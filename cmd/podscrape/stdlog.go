package main

import (
	"bytes"
	"io"
	"log"
)

// unsolicitedLine is how net/http's transport begins the line it writes to the standard
// logger when a pod sends bytes on a kept-alive connection that no request asked for
// (past the answer's Content-Length): it quotes up to 4 KB of them, and a pod that
// echoes its request's headers would put the Bearer token on stderr.
var unsolicitedLine = []byte("Unsolicited response received on idle HTTP channel starting with ")

// unsolicitedNotShown stands in for the bytes that line quotes.
const unsolicitedNotShown = "(the bytes are not shown: a pod's answer may echo its token)"

// quietStdLog sends the standard logger, which only net/http writes to here (the
// command logs through its context's logger), to w, with the unsolicited-response line's
// quoted bytes left out: the library cannot hook that line, and a pod's bytes must never
// show its token.
func quietStdLog(w io.Writer) {
	log.SetOutput(cutUnsolicited{w})
}

// cutUnsolicited writes to w what it is given, but the quoted bytes of net/http's
// unsolicited-response line (unsolicitedLine ... "; err=...").
type cutUnsolicited struct{ w io.Writer }

// Write writes p, cut; the standard logger writes one line per call.
func (c cutUnsolicited) Write(p []byte) (int, error) {
	i := bytes.Index(p, unsolicitedLine)
	if i < 0 {
		return c.w.Write(p)
	}
	start := i + len(unsolicitedLine)
	rest := []byte("\n")
	if j := bytes.LastIndex(p[start:], []byte("; err=")); j >= 0 {
		rest = p[start+j:]
	}
	line := make([]byte, 0, start+len(unsolicitedNotShown)+len(rest))
	line = append(append(append(line, p[:start]...), unsolicitedNotShown...), rest...)
	if _, err := c.w.Write(line); err != nil {
		return 0, err
	}
	return len(p), nil
}
