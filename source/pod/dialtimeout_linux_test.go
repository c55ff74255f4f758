package pod

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/podscrape/podscrape/internal/localcluster"
	"github.com/podscrape/podscrape/source"
)

// A pod whose connection never opens (its SYNs dropped: a NetworkPolicy, a node gone, a
// server whose accept queue is full) is cut by ScrapeTimeout like any other step: reason
// timeout, the error starting with the timeout and saying it was connecting. Before, the
// dialer's own deadline (the same ScrapeTimeout) ended it as "dial tcp ...: i/o
// timeout", reason connect: a pod too slow to answer read as one refusing connections.
func TestConnectionThatNeverOpensIsATimeout(t *testing.T) {
	ctx := context.Background()
	ns := fmt.Sprintf("pod-%d", runs.Add(1))
	if err := cp.CreateNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	ip := localcluster.NewAddressBlock().Next()
	// A listener with a backlog of 0 that never accepts: once one connection waits in
	// its queue, the kernel drops every further SYN.
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: netip.MustParseAddr(ip).As4()}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	port := sa.(*syscall.SockaddrInet4).Port
	addr := net.JoinHostPort(ip, strconv.Itoa(port))
	queued, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = queued.Close() })
	if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
		_ = c.Close()
		t.Skip("the kernel opened a connection past the full accept queue: cannot drop SYNs here")
	}

	cfg := onePodBehind(t, ns, ip, port)
	cfg.ScrapeTimeout = time.Second
	s, err := NewPodScrapingSource(ctx, cp.Client, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	_, err = s.Refresh(ctx, source.RefreshSpec{})
	var se *ScrapeError
	if !errors.As(err, &se) {
		t.Fatalf("got %v, want a *ScrapeError", err)
	}
	want := fmt.Sprintf("scrape pod %s/p (http://%s/metrics): timeout after 1s: connecting: ", ns, addr)
	if !strings.HasPrefix(se.Error(), want) || ScrapeReason(se) != ReasonTimeout || !errors.Is(se, context.DeadlineExceeded) {
		t.Errorf("got %q (reason %s), want it to start %q, reason timeout", se, ScrapeReason(se), want)
	}
}
