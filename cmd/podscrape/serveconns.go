package main

import (
	"crypto/tls"
	"net"
	"net/http"
	"sync"
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
// recent idle connection first, is the least likely to send on next; only when none is
// idle does it wait for one to close or turn idle. Its ConnState must be the
// http.Server's ConnState, so that it knows which connections are idle.
type connLimiter struct {
	net.Listener
	slots chan struct{} // one per connection served

	mu   sync.Mutex
	idle map[*limitedConn]time.Time // the connections idle now, and since when
	// idled receives (without blocking) when a connection turns idle, for an Accept
	// waiting for a slot.
	idled chan struct{}

	closeOnce sync.Once
	done      chan struct{} // closed by Close: an Accept waiting for a slot returns
}

// newConnLimiter bounds the connections of l at n.
func newConnLimiter(l net.Listener, n int) *connLimiter {
	return &connLimiter{Listener: l, slots: make(chan struct{}, n), idle: map[*limitedConn]time.Time{},
		idled: make(chan struct{}, 1), done: make(chan struct{})}
}

// Accept accepts a connection and returns it once it has a slot: at once when fewer
// than the bound are served, else once the connection idle the longest is closed, or,
// when none is idle, once one of those served closes or turns idle. The one connection
// accepted and waiting holds a file descriptor, no goroutine of the server, as one in
// the backlog would.
func (l *connLimiter) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	for {
		select {
		case l.slots <- struct{}{}:
			return &limitedConn{Conn: c, release: func() { <-l.slots }, limiter: l}, nil
		default:
		}
		if l.closeIdlest() {
			continue // its slot was given back as it closed: take it
		}
		select {
		case l.slots <- struct{}{}:
			return &limitedConn{Conn: c, release: func() { <-l.slots }, limiter: l}, nil
		case <-l.idled:
		case <-l.done:
			_ = c.Close()
			return nil, net.ErrClosed
		}
	}
}

// Close closes the listener; an Accept waiting for a slot returns net.ErrClosed.
func (l *connLimiter) Close() error {
	err := l.Listener.Close()
	l.closeOnce.Do(func() { close(l.done) })
	return err
}

// closeIdlest closes the connection idle the longest, freeing its slot, and reports
// whether there was one.
func (l *connLimiter) closeIdlest() bool {
	l.mu.Lock()
	var oldest *limitedConn
	var since time.Time
	for c, t := range l.idle {
		if oldest == nil || t.Before(since) {
			oldest, since = c, t
		}
	}
	delete(l.idle, oldest)
	l.mu.Unlock()
	if oldest == nil {
		return false
	}
	_ = oldest.Close() // the server's read of its next request fails, and it lets it go
	return true
}

// ConnState is the http.Server's ConnState: it keeps which connections are idle.
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
}

// Close closes the connection and gives its slot back, once.
func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		c.limiter.mu.Lock()
		c.closed = true
		delete(c.limiter.idle, c)
		c.limiter.mu.Unlock()
		c.release()
	})
	return err
}

// isClosed reports whether c was closed; the caller holds limiter.mu.
func (c *limitedConn) isClosed() bool { return c.closed }
