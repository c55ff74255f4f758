package main

import (
	"crypto/tls"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// connLimiter bounds the connections serve serves at once, as Prometheus'
// --web.max-connections does, but does not let idle keep-alive connections starve the
// kubelet's probes. Prometheus' listener (netutil.LimitListener) leaves a connection
// past the bound in the kernel's backlog until one of those served closes: clients
// holding idle keep-alives (a client that leaks an http.Transport per request, a burst
// of Grafana users) keep them for up to --web.read-timeout (5m) each, and meanwhile
// every probe, a new connection each time, goes unanswered past its 1s timeout: the
// kubelet takes serve out of its Service, then restarts it, dropping the clients that
// were using it. As nginx does when it runs out of connections, a connection waiting
// past the bound makes the limiter close the connection idle the longest (between
// requests, no request read or answered on it), which a Go client, reusing its most
// recent idle connection first, is the least likely to send on next. With none idle, it
// closes the connection that has been open the longest without sending a request's
// headers whole, once that is newConnGrace: a client sends its request as it connects,
// and one that does not (a slowloris, connecting and trickling its headers, no token
// needed) otherwise held its slot for the 10s header timeout, so that 512 connections
// opened every 10s failed every probe. Only when no connection is either does it wait
// for one to close, turn idle, or pass the grace. Its ConnState must be the
// http.Server's ConnState, so that it knows which connections are idle or new.
type connLimiter struct {
	net.Listener
	slots chan struct{} // one per connection served

	mu   sync.Mutex
	idle map[*limitedConn]time.Time // the connections idle now, and since when
	// fresh holds the connections served whose first request has not been read whole
	// yet (http.StateNew), and when each was accepted.
	fresh map[*limitedConn]time.Time
	// idled receives (without blocking) when a connection turns idle, for an Accept
	// waiting for a slot.
	idled chan struct{}

	closeOnce sync.Once
	done      chan struct{} // closed by Close: an Accept waiting for a slot returns

	// writeStall, when not 0, bounds how long a write to a connection may make no
	// progress (limitedConn.Write). Set before Accept is first called.
	writeStall time.Duration
}

// newConnLimiter bounds the connections of l at n.
func newConnLimiter(l net.Listener, n int) *connLimiter {
	return &connLimiter{Listener: l, slots: make(chan struct{}, n), idle: map[*limitedConn]time.Time{},
		fresh: map[*limitedConn]time.Time{}, idled: make(chan struct{}, 1), done: make(chan struct{})}
}

// newConnGrace is how long a connection may be open without having sent its first
// request's headers whole before a connection past the bound may close it. A client on
// the cluster's network sends them within milliseconds of connecting (a TLS handshake
// included). A variable for tests.
var newConnGrace = 500 * time.Millisecond

// Accept accepts a connection and returns it once it has a slot: at once when fewer
// than the bound are served, else once the connection idle the longest is closed, or,
// when none is idle, the one open the longest past newConnGrace without a request; when
// there is neither, once one of those served closes, turns idle, or passes the grace.
// The one connection accepted and waiting holds a file descriptor, no goroutine of the
// server, as one in the backlog would.
func (l *connLimiter) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	for {
		select {
		case l.slots <- struct{}{}:
			return l.served(c), nil
		default:
		}
		closed, wait := l.closeIdlest()
		if closed {
			continue // its slot was given back as it closed: take it
		}
		var graceOver <-chan time.Time // nil, never ready, when no connection waits for its request
		if wait > 0 {
			graceOver = time.After(wait)
		}
		select {
		case l.slots <- struct{}{}:
			return l.served(c), nil
		case <-l.idled:
		case <-graceOver:
		case <-l.done:
			_ = c.Close()
			return nil, net.ErrClosed
		}
	}
}

// served is c holding a slot, new: no request read on it yet.
func (l *connLimiter) served(c net.Conn) *limitedConn {
	lc := &limitedConn{Conn: c, release: func() { <-l.slots }, limiter: l}
	l.mu.Lock()
	l.fresh[lc] = time.Now()
	l.mu.Unlock()
	return lc
}

// Close closes the listener; an Accept waiting for a slot returns net.ErrClosed.
func (l *connLimiter) Close() error {
	err := l.Listener.Close()
	l.closeOnce.Do(func() { close(l.done) })
	return err
}

// closeIdlest closes the connection idle the longest or, with none idle, the one open
// the longest past newConnGrace without a request, freeing its slot, and reports
// whether there was one; when there was not, wait is how long until a connection
// without a request passes the grace (0: none is waiting for its request).
func (l *connLimiter) closeIdlest() (closed bool, wait time.Duration) {
	l.mu.Lock()
	oldest, since := longest(l.idle)
	if oldest == nil {
		oldest, since = longest(l.fresh)
		if oldest != nil {
			if wait = newConnGrace - time.Since(since); wait > 0 {
				l.mu.Unlock()
				return false, wait
			}
		}
	}
	delete(l.idle, oldest)
	delete(l.fresh, oldest)
	l.mu.Unlock()
	if oldest == nil {
		return false, 0
	}
	_ = oldest.Close() // the server's read of its (next) request fails, and it lets it go
	return true, 0
}

// longest is the connection of m whose time is the earliest, and that time.
func longest(m map[*limitedConn]time.Time) (oldest *limitedConn, since time.Time) {
	for c, t := range m {
		if oldest == nil || t.Before(since) {
			oldest, since = c, t
		}
	}
	return oldest, since
}

// ConnState is the http.Server's ConnState: it keeps which connections are idle, and
// which have had no request read yet.
func (l *connLimiter) ConnState(c net.Conn, state http.ConnState) {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	lc, ok := c.(*limitedConn)
	if !ok {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if state != http.StateNew {
		delete(l.fresh, lc) // a request read whole (active), or an HTTP/2 connection's preface (idle)
	}
	if state != http.StateIdle {
		delete(l.idle, lc)
		return
	}
	if lc.isClosed() {
		return // closed by closeIdlest as the server reported it idle
	}
	l.idle[lc] = time.Now()
	select {
	case l.idled <- struct{}{}:
	default:
	}
}

// limitedConn is a connection holding a slot of its connLimiter until closed.
type limitedConn struct {
	net.Conn
	limiter *connLimiter
	release func()

	once   sync.Once
	closed bool // under limiter.mu

	// writeDeadline is the write deadline the connection's user set last (net/http,
	// crypto/tls), the zero time for none: Write keeps to it when it is the earlier.
	writeDeadline atomic.Pointer[time.Time]
}

// SetDeadline sets the connection's read and write deadlines.
func (c *limitedConn) SetDeadline(t time.Time) error {
	c.writeDeadline.Store(&t)
	return c.Conn.SetDeadline(t)
}

// SetWriteDeadline sets the connection's write deadline.
func (c *limitedConn) SetWriteDeadline(t time.Time) error {
	c.writeDeadline.Store(&t)
	return c.Conn.SetWriteDeadline(t)
}

// Close closes the connection and gives its slot back, once.
func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		c.limiter.mu.Lock()
		c.closed = true
		delete(c.limiter.idle, c)
		delete(c.limiter.fresh, c)
		c.limiter.mu.Unlock()
		c.release()
	})
	return err
}

// writeChunk is the most limitedConn.Write writes under one deadline.
const writeChunk = 64 << 10

// Write writes p to the connection, failing (and so ending the connection) when a part
// of it of up to 64 KiB is not written within the limiter's writeStall: a client that
// stops reading its answers, or reads less than 64 KiB a minute, holds no slot for ever,
// as nginx's send_timeout bounds the time between two writes. There is no write timeout
// on a whole answer (http.Server's WriteTimeout, counted from the request's arrival,
// would cut off a query still being evaluated): a client that reads is never cut off.
// Without it a client with no token could pipeline requests, read none of their
// answers, and hold a connection, past every other bound, for as long as it liked.
func (c *limitedConn) Write(p []byte) (int, error) {
	stall := c.limiter.writeStall
	if stall == 0 {
		return c.Conn.Write(p)
	}
	n := 0
	for len(p) > 0 {
		deadline := time.Now().Add(stall)
		if set := c.writeDeadline.Load(); set != nil && !set.IsZero() && set.Before(deadline) {
			deadline = *set // crypto/tls's close_notify, net/http's shutdown: theirs, shorter
		}
		if err := c.Conn.SetWriteDeadline(deadline); err != nil {
			return n, err
		}
		m, err := c.Conn.Write(p[:min(len(p), writeChunk)])
		n += m
		if err != nil {
			return n, err
		}
		p = p[m:]
	}
	return n, nil
}

// isClosed reports whether c was closed; the caller holds limiter.mu.
func (c *limitedConn) isClosed() bool { return c.closed }

// stallBounded serves h, bounding how long a write of an HTTP/2 answer may make no
// progress at d, as limitedConn.Write bounds a connection's writes: an HTTP/2 stream's
// answer is sent only within the window its client grants, and a client that grants
// none (its initial window 0, no WINDOW_UPDATE), reading every frame so that the
// connection's writes do progress, held each stream's handler, and the connection, for
// as long as it liked: 100 streams on each of the 512 connections, no token needed. Its
// stream is reset once a write of up to 64 KiB has waited d, or what is left of the
// answer when the handler returns has not been sent within d. The stream's deadline is
// set only while a write waits: an HTTP/2 write deadline resets the stream when it
// passes, whether or not a write waits, and a handler may take its time between writes.
// HTTP/1 answers are left to limitedConn.
func stallBounded(h http.Handler, d time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor != 2 || d == 0 {
			h.ServeHTTP(w, r)
			return
		}
		sw := &stallWriter{ResponseWriter: w, rc: http.NewResponseController(w), stall: d}
		h.ServeHTTP(sw, r)
		sw.extend() // what the handler left buffered is sent once it returns
	})
}

// stallWriter bounds each of its stream's writes at stall.
type stallWriter struct {
	http.ResponseWriter
	rc    *http.ResponseController
	stall time.Duration
}

func (s *stallWriter) extend() { _ = s.rc.SetWriteDeadline(time.Now().Add(s.stall)) }
func (s *stallWriter) clear()  { _ = s.rc.SetWriteDeadline(time.Time{}) }

// Write writes p in parts of up to 64 KiB, each within the stall bound.
func (s *stallWriter) Write(p []byte) (int, error) {
	defer s.clear()
	n := 0
	for {
		s.extend()
		m, err := s.ResponseWriter.Write(p[:min(len(p), writeChunk)])
		n += m
		if err != nil || m == len(p) {
			return n, err
		}
		p = p[m:]
	}
}

// Flush sends what is buffered, within the stall bound.
func (s *stallWriter) Flush() {
	defer s.clear()
	s.extend()
	_ = s.rc.Flush()
}

// Unwrap is the ResponseWriter written to, for http.ResponseController.
func (s *stallWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }
