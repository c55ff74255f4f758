package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// hangingHandler answers no request: each waits until its client goes or the test ends.
// Each arrival is sent on the returned channel when it has room. It reads the request's
// body first: until it is read, the server cannot see the client go (a POST's, as
// Prometheus' API client sends a query).
func hangingHandler(t *testing.T) (http.Handler, <-chan struct{}) {
	arrived := make(chan struct{}, 64)
	hang := make(chan struct{})
	t.Cleanup(func() { close(hang) })
	return http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case arrived <- struct{}{}:
		default:
		}
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	}), arrived
}

// interruptOnArrival runs the binary with args, sends it SIGTERM once a request arrives
// on arrived (earlier arrivals are drained first) and waits for it to exit. It returns
// the command, its stdout and its stderr; false when the binary was still running 20s
// after the signal (then killed) or never sent a request within a minute.
func interruptOnArrival(t *testing.T, name string, arrived <-chan struct{}, args ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer, bool) {
	t.Helper()
	for len(arrived) > 0 {
		<-arrived
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := binaryCommand(ctx, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-arrived:
	case <-ctx.Done():
		t.Errorf("%s: never sent its request; stderr:\n%s", name, stderr.String())
		_ = cmd.Wait()
		return cmd, &stdout, &stderr, false
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case <-exited:
		return cmd, &stdout, &stderr, true
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
		t.Errorf("%s: still running 20s after SIGTERM; stderr:\n%s", name, stderr.String())
		return cmd, &stdout, &stderr, false
	}
}

// TestSignalEndsACommandWhoseAPIServerHangs: against an API server that accepts
// connections and never answers (overloaded, or a proxy in front of it stuck), SIGTERM
// ends each command at once with exit 1 and the reason. Before, a command stuck in
// client-go's discovery, which takes no context, ignored the signal until killed.
func TestSignalEndsACommandWhoseAPIServerHangs(t *testing.T) {
	t.Parallel()
	hung, arrived := hangingHandler(t)
	api := httptest.NewServer(hung)
	t.Cleanup(api.Close)
	for _, args := range [][]string{
		{"scrape", "vllm", "--port", "8000"},
		{"scrape", "vllm", "--port", "8000", "--watch", "1h"},
		{"query", "up", "vllm", "--port", "8000"},
		{"query", "up", "--prometheus", api.URL, "--timeout", "1h"}, // a Prometheus server that never answers
		{"serve", "vllm", "--port", "8000", "--listen", "127.0.0.1:0"},
	} {
		name := strings.Join(args, " ")
		cmd, _, stderr, ok := interruptOnArrival(t, name, arrived, append([]string{"--server", api.URL}, args...)...)
		if !ok {
			continue
		}
		if got := exitStatus(cmd); got != "exit 1" || !strings.Contains(stderr.String(), "context canceled") {
			t.Errorf("%s: %s, stderr %q; want exit 1 saying it was cut short", name, got, stderr.String())
		}
	}
}
