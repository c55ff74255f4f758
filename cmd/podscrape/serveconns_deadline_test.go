package main

import (
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// TestLimitedConnKeepsToTheEarlierWriteDeadline: the write stall bound (a minute in
// serve, an hour here) does not lengthen a shorter write deadline that the connection's
// user set: crypto/tls bounds its close_notify at 5s, net/http's shutdown its last
// writes, and a connection whose client reads nothing would otherwise hold its slot, and
// the goroutine closing it, for the whole stall bound. Nor does a deadline cleared (the
// zero time, as net/http sets between requests) lift the stall bound.
func TestLimitedConnKeepsToTheEarlierWriteDeadline(t *testing.T) {
	cases := []struct {
		name  string
		stall time.Duration
		set   func(c net.Conn) error
	}{
		{"SetWriteDeadline shorter than the stall bound", time.Hour, func(c net.Conn) error {
			return c.SetWriteDeadline(time.Now().Add(200 * time.Millisecond))
		}},
		{"SetDeadline shorter than the stall bound", time.Hour, func(c net.Conn) error {
			return c.SetDeadline(time.Now().Add(200 * time.Millisecond))
		}},
		{"the deadline cleared, the stall bound kept", 200 * time.Millisecond, func(c net.Conn) error {
			return c.SetWriteDeadline(time.Time{})
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			l := newConnLimiter(ln, 1)
			l.writeStall = tc.stall
			defer l.Close()
			client, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer client.Close() // reads nothing: the server's writes fill the buffers, then wait
			server, err := l.Accept()
			if err != nil {
				t.Fatal(err)
			}
			defer server.Close() // ends a write still waiting when the test fails
			if err := tc.set(server); err != nil {
				t.Fatal(err)
			}
			wrote := make(chan error, 1)
			go func() {
				_, err := server.Write(make([]byte, 256<<20)) // more than both ends' buffers hold
				wrote <- err
			}()
			select {
			case err := <-wrote:
				if !errors.Is(err, os.ErrDeadlineExceeded) {
					t.Errorf("a write the client does not read: %v, want its deadline exceeded", err)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("a write the client does not read still waits after 30s, with a deadline of 200ms")
			}
		})
	}
}

// TestLimitedConnBoundsEachPartOfAWrite: the stall bound is on each part of a write (64
// KiB), not on the whole of it: a client reading a large answer steadily (8 MiB here, at
// about 2.5 MB/s, with a bound of a second; a federation or a dashboard's range query
// over a slow link in serve) is never cut off, however long the whole answer takes.
func TestLimitedConnBoundsEachPartOfAWrite(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := newConnLimiter(ln, 1)
	l.writeStall = time.Second
	defer l.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	_ = client.(*net.TCPConn).SetReadBuffer(64 << 10) // small buffers: the pace is the reader's
	server, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	_ = server.(*limitedConn).Conn.(*net.TCPConn).SetWriteBuffer(64 << 10)
	const size = 8 << 20
	read := make(chan int64, 1)
	go func() { // reads 128 KiB every 50ms
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		var n int64
		for n < size {
			<-tick.C
			m, err := io.CopyN(io.Discard, client, 128<<10)
			n += m
			if err != nil {
				break
			}
		}
		read <- n
	}()
	start := time.Now()
	if _, err := server.Write(make([]byte, size)); err != nil {
		t.Fatalf("a write of %d bytes read steadily, after %s: %v, want it whole", size, time.Since(start).Round(time.Millisecond), err)
	}
	if n := <-read; n != size {
		t.Errorf("read %d bytes, want %d", n, size)
	}
}
