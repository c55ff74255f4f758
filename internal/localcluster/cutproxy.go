package localcluster

import (
	"errors"
	"io"
	"net"
	"sync"
)

// CuttingProxy forwards each TCP connection made to its loopback address to target, and
// can cut the path and restore it: a network partition between a client (serve's
// informers, a manager's cache) and its server. Cut closes every connection forwarded so
// far and refuses new ones (the listener is closed: a connection is refused, as from a
// host whose server is not listening); Restore listens again on the same address.
type CuttingProxy struct {
	target string
	addr   string // host:port the proxy listens on, the same after a Restore

	mu    sync.Mutex // protects ln, conns, done
	ln    net.Listener
	conns map[net.Conn]struct{}
	done  chan struct{} // closed when the current listener's accept loop has returned
	wg    sync.WaitGroup
}

// StartCuttingProxy starts a CuttingProxy listening on ip (loopback) and forwarding to
// target; Close stops it.
func StartCuttingProxy(ip, target string) (*CuttingProxy, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		return nil, err
	}
	p := &CuttingProxy{target: target, addr: ln.Addr().String(), conns: map[net.Conn]struct{}{}}
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
// the proxy cuts; a connection accepted just before a Cut is closed.
func (p *CuttingProxy) forward(ln net.Listener, c net.Conn) {
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		_ = c.Close()
		return
	}
	p.mu.Lock()
	if p.ln != ln {
		p.mu.Unlock()
		_ = c.Close()
		_ = up.Close()
		return
	}
	p.conns[c], p.conns[up] = struct{}{}, struct{}{}
	p.wg.Add(2)
	p.mu.Unlock()
	pipe := func(dst, src net.Conn) {
		defer p.wg.Done()
		_, _ = io.Copy(dst, src)
		_ = dst.Close()
		_ = src.Close()
		p.mu.Lock()
		delete(p.conns, src)
		delete(p.conns, dst)
		p.mu.Unlock()
	}
	go pipe(up, c)
	go pipe(c, up)
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

// Restore listens again on the proxy's address. Restoring a proxy not cut does nothing.
func (p *CuttingProxy) Restore() error {
	p.mu.Lock()
	defer p.mu.Unlock()
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
