package pod

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"testing"

	"github.com/podscrape/podscrape/internal/localcluster"
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

// healthyBeside creates a namespace with the Service "pod" (selector app=pod) and its
// pod "healthy", a loopback server answering body, for a test to add misbehaving pods
// beside it: it returns the namespace, the selector, the pods' port and the address
// block the next pods take their IPs from.
func healthyBeside(t *testing.T, body string) (ns string, sel map[string]string, port int, block *localcluster.AddressBlock) {
	t.Helper()
	ctx := context.Background()
	ns = fmt.Sprintf("pod-%d", runs.Add(1))
	if err := cp.CreateNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	block = localcluster.NewAddressBlock()
	healthyIP := block.Next()
	srv, err := localcluster.Serve(healthyIP, 0, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = fmt.Fprint(w, body)
	}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	sel = map[string]string{"app": "pod"}
	if err := cp.CreateService(ctx, ns, "pod", sel, int32(srv.Port)); err != nil {
		t.Fatal(err)
	}
	if _, err := cp.CreatePod(ctx, localcluster.PodSpec{Namespace: ns, Name: "healthy", Labels: sel, IP: healthyIP, Ready: true}); err != nil {
		t.Fatal(err)
	}
	return ns, sel, srv.Port, block
}
