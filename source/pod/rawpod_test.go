package pod

import (
	"bufio"
	"net"
	"strconv"
	"sync"
	"testing"
)

// rawPod is a TCP listener on a loopback pod address whose every connection is handled
// by serve, with TCP-level control: a pod that misbehaves below HTTP.
type rawPod struct {
	ln    net.Listener
	serve func(c net.Conn, br *bufio.Reader)
	wg    sync.WaitGroup

	mu    sync.Mutex // protects conns
	conns []net.Conn
}

// startRawPod listens on ip:port until t ends, handing each connection to serve.
func startRawPod(t *testing.T, ip string, port int, serve func(c net.Conn, br *bufio.Reader)) *rawPod {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
	if err != nil {
		t.Fatal(err)
	}
	p := &rawPod{ln: ln, serve: serve}
	p.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			p.conns = append(p.conns, c)
			p.mu.Unlock()
			p.wg.Go(func() {
				defer c.Close()
				p.serve(c, bufio.NewReader(c))
			})
		}
	})
	t.Cleanup(p.close)
	return p
}

func (p *rawPod) close() {
	_ = p.ln.Close()
	p.mu.Lock()
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// reset closes c with an RST rather than a FIN.
func reset(c net.Conn) {
	_ = c.(*net.TCPConn).SetLinger(0)
	_ = c.Close()
}
