package localcluster

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
)

// CuttingProxy forwards each TCP connection made to its loopback address to target, and
// can cut the path and restore it: a network partition between a client (serve's
// informers, a manager's cache) and its server. Cut closes every connection forwarded so
// far and refuses new ones (the listener is closed: a connection is refused, as from a
// host whose server is not listening). Silence drops the path instead: what comes in on
// any connection, open or new, is read and dropped, nothing is answered and nothing
// closed (a path that loses every packet). Restore forwards again: it listens again on
// the same address, and closes the connections silenced.
type CuttingProxy struct {
	target string
	addr   string // host:port the proxy listens on, the same after a Restore

	mu     sync.Mutex // protects ln, conns, done, silent
	ln     net.Listener
	conns  map[net.Conn]*atomic.Bool // each connection, and whether it is silenced
	done   chan struct{}             // closed when the current listener's accept loop has returned
	silent bool
	wg     sync.WaitGroup
}

// StartCuttingProxy starts a CuttingProxy listening on ip (loopback) and forwarding to
// target; Close stops it.
func StartCuttingProxy(ip, target string) (*CuttingProxy, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		return nil, err
	}
	p := &CuttingProxy{target: target, addr: ln.Addr().String(), conns: map[net.Conn]*atomic.Bool{}}
	p.listen(ln)
	return p, nil
}

// Addr is the host:port the proxy listens on.
func (p *CuttingProxy) Addr() string { return p.addr }

func (p *CuttingProxy) listen(ln net.Listener) {
	done := make(chan struct{})
	p.ln, p.done = ln, done
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.forward(ln, c)
		}
	}()
}

// forward dials target for c, accepted on ln, and copies both ways until either ends or
// the proxy cuts; a connection accepted just before a Cut is closed, one accepted while
// silent is held silent.
func (p *CuttingProxy) forward(ln net.Listener, c net.Conn) {
	p.mu.Lock()
	silent := p.silent
	p.mu.Unlock()
	var up net.Conn
	if !silent {
		var err error
		if up, err = net.Dial("tcp", p.target); err != nil {
			_ = c.Close()
			return
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != ln {
		_ = c.Close()
		if up != nil {
			_ = up.Close()
		}
		return
	}
	s := new(atomic.Bool)
	s.Store(silent)
	p.conns[c] = s
	if up == nil {
		p.wg.Add(1)
		go p.pipe(nil, c, s)
		return
	}
	p.conns[up] = s
	p.wg.Add(2)
	go p.pipe(up, c, s)
	go p.pipe(c, up, s)
}

// pipe copies src to dst (nil: nowhere) until src ends, dropping what it reads while
// silent; an end is passed on (both closed) only while not silent.
func (p *CuttingProxy) pipe(dst, src net.Conn, silent *atomic.Bool) {
	defer p.wg.Done()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && dst != nil && !silent.Load() {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				err = werr
			}
		}
		if err != nil {
			break
		}
	}
	if !silent.Load() {
		_ = src.Close()
		if dst != nil {
			_ = dst.Close()
		}
	}
	p.mu.Lock()
	delete(p.conns, src)
	p.mu.Unlock()
}

// Cut closes the listener (new connections are refused) and every connection forwarded
// so far, and returns once they are closed. Cutting a cut proxy does nothing.
func (p *CuttingProxy) Cut() {
	p.mu.Lock()
	ln, done := p.ln, p.done
	p.ln = nil
	if ln != nil {
		_ = ln.Close()
	}
	for c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
	if done != nil {
		<-done
	}
	p.wg.Wait()
}

// Silence drops everything from now on: the connections open go silent, new ones are
// accepted and held silent.
func (p *CuttingProxy) Silence() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.silent = true
	for _, s := range p.conns {
		s.Store(true)
	}
}

// Restore forwards new connections again: it listens again on the proxy's address when
// cut, and closes the connections silenced (a client's next connection is forwarded).
func (p *CuttingProxy) Restore() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.silent {
		p.silent = false
		for c, s := range p.conns {
			if s.Load() {
				_ = c.Close()
			}
		}
	}
	if p.ln != nil {
		return nil
	}
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		return errors.Join(errors.New("localcluster: restore the cutting proxy"), err)
	}
	p.listen(ln)
	return nil
}

// Close cuts the proxy for good.
func (p *CuttingProxy) Close() { p.Cut() }
