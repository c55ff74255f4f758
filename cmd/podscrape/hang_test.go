package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSignalEndsACommandWhoseAPIServerHangs: against an API server that accepts
// connections and never answers (overloaded, or a proxy in front of it stuck), SIGTERM
// ends each command at once with exit 1 and the reason. Before, a command stuck in
// client-go's discovery, which takes no context, ignored the signal until killed.
func TestSignalEndsACommandWhoseAPIServerHangs(t *testing.T) {
	t.Parallel()
	arrived := make(chan struct{}, 64)
	hang := make(chan struct{})
	api := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		select {
		case arrived <- struct{}{}:
		default:
		}
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(api.Close)
	t.Cleanup(func() { close(hang) }) // before api.Close: its handlers return
	for _, args := range [][]string{
		{"scrape", "vllm", "--port", "8000"},
		{"scrape", "vllm", "--port", "8000", "--watch", "1h"},
		{"query", "up", "vllm", "--port", "8000"},
		{"serve", "vllm", "--port", "8000", "--listen", "127.0.0.1:0"},
	} {
		name := strings.Join(args, " ")
		for len(arrived) > 0 {
			<-arrived
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := binaryCommand(ctx, append([]string{"--server", api.URL}, args...)...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		select {
		case <-arrived:
		case <-ctx.Done():
			t.Fatalf("%s: never asked the API server; stderr:\n%s", name, stderr.String())
		}
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
			t.Errorf("%s: still running 20s after SIGTERM; stderr:\n%s", name, stderr.String())
			continue
		}
		if got := exitStatus(cmd); got != "exit 1" || !strings.Contains(stderr.String(), "context canceled") {
			t.Errorf("%s: %s, stderr %q; want exit 1 saying it was cut short", name, got, stderr.String())
		}
	}
}
