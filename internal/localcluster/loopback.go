package localcluster

import (
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"
)

// checkLoopback refuses any pod address that is not loopback: tests and the demo must
// never give a pod an address something else could dial.
func checkLoopback(ip string) error {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return fmt.Errorf("pod IP %q: %w", ip, err)
	}
	if !addr.IsLoopback() {
		return fmt.Errorf("pod IP %s is not a loopback address", ip)
	}
	return nil
}

// AddressBlock hands out loopback addresses 127.A.B.1, 127.A.B.2, ... from a /24 picked
// at random, so concurrent test packages do not collide. It is safe for concurrent use.
type AddressBlock struct {
	mu     sync.Mutex // protects prefix, next
	prefix [3]byte
	next   int
}

// NewAddressBlock picks a random 127.A.B.0/24 (A in 1-254, so never 127.0.0.x).
func NewAddressBlock() *AddressBlock {
	a, _ := rand.Int(rand.Reader, big.NewInt(254))
	b, _ := rand.Int(rand.Reader, big.NewInt(256))
	return &AddressBlock{prefix: [3]byte{127, byte(a.Int64() + 1), byte(b.Int64())}, next: 1}
}

// Next returns the next unused address of the block. A /24 holds 254; more addresses
// continue into the following /24s.
func (b *AddressBlock) Next() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := b.next
	b.next++
	third := int(b.prefix[2]) + n/254
	return fmt.Sprintf("%d.%d.%d.%d", b.prefix[0], b.prefix[1], third%256, n%254+1)
}

// Server is a real HTTP server bound to one loopback address.
type Server struct {
	// IP is the address it listens on.
	IP string
	// Port is the port it listens on.
	Port int

	srv  *http.Server
	done chan struct{}

	mu      sync.Mutex // protects closed and running
	closed  bool       // Close has begun: no handler starts any more
	running int        // handlers running now
	idle    *sync.Cond // signalled, with mu, when running drops to 0
}

// track wraps h so that Close can wait for its running calls, as httptest.Server.Close
// does: http.Server.Close ends connections but not the handlers serving them, and a
// handler still running after Close returned would touch a finished test's state. A
// request that reaches the handler once Close has begun is not handed to h: its
// connection is aborted, so no client reads an empty answer as one.
func (s *Server) track(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			panic(http.ErrAbortHandler)
		}
		s.running++
		s.mu.Unlock()
		defer func() {
			s.mu.Lock()
			if s.running--; s.running == 0 {
				s.idle.Broadcast()
			}
			s.mu.Unlock()
		}()
		h.ServeHTTP(w, r)
	})
}

// Serve starts h on ip:port (port 0: any free port).
func Serve(ip string, port int, h http.Handler) (*Server, error) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	return start(ip, port, srv, srv.Serve)
}

// start listens on the loopback address ip:port and runs serve on the listener until
// the server is closed.
func start(ip string, port int, srv *http.Server, serve func(net.Listener) error) (*Server, error) {
	if err := checkLoopback(ip); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
	if err != nil {
		return nil, fmt.Errorf("listen on %s port %d: %w", ip, port, err)
	}
	s := &Server{IP: ip, Port: ln.Addr().(*net.TCPAddr).Port, srv: srv, done: make(chan struct{})}
	s.idle = sync.NewCond(&s.mu)
	srv.Handler = s.track(srv.Handler)
	go func() {
		defer close(s.done)
		_ = serve(ln)
	}()
	return s, nil
}

// URL is the server's base URL.
func (s *Server) URL() string {
	return "http://" + net.JoinHostPort(s.IP, strconv.Itoa(s.Port))
}

// Close stops the server at once, closing open connections (which cancels their
// requests' contexts), and waits for it and for every handler still running, as
// httptest.Server.Close does: a handler that blocks without watching its request's
// context keeps Close waiting.
func (s *Server) Close() error {
	err := s.srv.Close()
	<-s.done
	s.mu.Lock()
	s.closed = true
	for s.running > 0 {
		s.idle.Wait()
	}
	s.mu.Unlock()
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// ServeAll starts one server per address, all on the same port (what a Service's pods
// share): the first binds any free port, the others that one. When a later address finds
// the port taken, it retries the whole group on another port.
func ServeAll(ips []string, handler func(ip string) http.Handler) ([]*Server, error) {
	var lastErr error
	for attempt := 0; attempt < 10; attempt++ {
		servers, err := serveAll(ips, handler)
		if err == nil {
			return servers, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

func serveAll(ips []string, handler func(ip string) http.Handler) ([]*Server, error) {
	servers := make([]*Server, 0, len(ips))
	port := 0
	for _, ip := range ips {
		s, err := Serve(ip, port, handler(ip))
		if err != nil {
			for _, started := range servers {
				_ = started.Close()
			}
			return nil, err
		}
		port = s.Port
		servers = append(servers, s)
	}
	return servers, nil
}
