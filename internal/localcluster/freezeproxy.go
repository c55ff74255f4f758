package localcluster

import (
	"net"
	"sync"
	"sync/atomic"
)

// FreezingProxy forwards each TCP connection made to its loopback address to target.
// Freeze makes the connections open so far go silent: what comes in is read and dropped,
// nothing is answered and nothing closed, as a peer that stopped answering on one
// connection (a wedged connection handler, a sidecar, a network path that drops). Later
// connections are forwarded.
type FreezingProxy struct {
	ln     net.Listener
	target string
	done   chan struct{} // closed when serve has returned

	// Accepted counts the connections made to the proxy.
	Accepted atomic.Int32

	mu     sync.Mutex // protects frozen, conns
	frozen []*atomic.Bool
	conns  []net.Conn
}

// StartFreezingProxy starts a FreezingProxy listening on ip (loopback) and forwarding to
// target; Close stops it.
func StartFreezingProxy(ip, target string) (*FreezingProxy, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		return nil, err
	}
	p := &FreezingProxy{ln: ln, target: target, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		p.serve()
	}()
	return p, nil
}

// Close stops accepting and closes every connection the proxy holds.
func (p *FreezingProxy) Close() {
	_ = p.ln.Close()
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		_ = c.Close()
	}
}

// Port is the port the proxy listens on.
func (p *FreezingProxy) Port() int { return p.ln.Addr().(*net.TCPAddr).Port }

func (p *FreezingProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.Accepted.Add(1)
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = c.Close()
			continue
		}
		frozen := new(atomic.Bool)
		p.mu.Lock()
		p.frozen = append(p.frozen, frozen)
		p.conns = append(p.conns, c, up)
		p.mu.Unlock()
		go forwardUnlessFrozen(up, c, frozen)
		go forwardUnlessFrozen(c, up, frozen)
	}
}

// forwardUnlessFrozen copies src to dst until src ends, dropping what it reads once frozen; an end
// is passed on (dst closed) only while not frozen.
func forwardUnlessFrozen(dst, src net.Conn, frozen *atomic.Bool) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && !frozen.Load() {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if !frozen.Load() {
				_ = dst.Close()
			}
			return
		}
	}
}

// Freeze silences every connection open so far.
func (p *FreezingProxy) Freeze() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, f := range p.frozen {
		f.Store(true)
	}
}
