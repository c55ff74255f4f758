package main

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestServeFinishesARequestInFlightWhenStopped holds serve to docs/serve.md's Stopping:
// on SIGTERM (or SIGHUP, which does not reload) it closes its listener (new connections
// are refused, so /-/ready fails), lets the requests in flight finish, their --max-age
// scrapes included, and exits 0. A KEDA poll caught by a rollout then gets its answer,
// not a cut connection.
func TestServeFinishesARequestInFlightWhenStopped(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGHUP} {
		t.Run(sig.String(), func(t *testing.T) {
			t.Parallel()
			var holding atomic.Bool
			arrived := make(chan struct{}, 1)
			release := make(chan struct{})
			var releaseOnce sync.Once
			t.Cleanup(func() { releaseOnce.Do(func() { close(release) }) })
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body := "# TYPE x gauge\nx 1\n"
				if holding.Load() {
					select {
					case arrived <- struct{}{}:
					default:
					}
					select {
					case <-release:
					case <-r.Context().Done():
						return
					}
					body = "# TYPE x gauge\nx 2\n"
				}
				w.Header().Set("Content-Type", textFormat)
				_, _ = io.WriteString(w, body)
			})
			svc := newTestService(t, "stopping", h)

			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cmd := binaryCommand(ctx, "-n", svc.namespace, "serve", svc.name, "--port", port(svc.port),
				"--listen", "127.0.0.1:0", "--interval", "1h", "--timeout", "30s", "--max-age", "1ms")
			stderr := &lineWriter{re: regexp.MustCompile(`on (https?://\S+) `), found: make(chan string, 1)}
			cmd.Stderr = stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan struct{})
			go func() { _ = cmd.Wait(); close(exited) }()
			var base string
			select {
			case base = <-stderr.found:
			case <-exited:
				t.Fatalf("serve exited %s before serving; stderr:\n%s", exitStatus(cmd), stderr)
			case <-ctx.Done():
				t.Fatalf("serve printed no URL; stderr:\n%s", stderr)
			}
			for {
				resp, err := http.Get(base + "/-/ready")
				if err == nil {
					resp.Body.Close()
					if resp.StatusCode == http.StatusOK {
						break
					}
				}
				if ctx.Err() != nil {
					t.Fatalf("serve not ready; stderr:\n%s", stderr)
				}
				time.Sleep(20 * time.Millisecond) // polling readiness
			}

			// A query whose --max-age scrape waits on the pod when the signal comes.
			holding.Store(true)
			answered := getInBackground(base + "/api/v1/query?query=x")
			select {
			case <-arrived:
			case <-ctx.Done():
				t.Fatalf("the query's scrape never reached the pod; stderr:\n%s", stderr)
			}
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			for { // the listener closes: a probe finds no server
				resp, err := http.Get(base + "/-/ready")
				if err != nil {
					break
				}
				resp.Body.Close()
				if ctx.Err() != nil {
					t.Fatalf("serve still accepts connections after %s", sig)
				}
				time.Sleep(20 * time.Millisecond) // polling for the listener to close
			}
			releaseOnce.Do(func() { close(release) })

			select {
			case a := <-answered:
				if a.err != nil || a.code != http.StatusOK || !strings.Contains(a.body, `"2"]`) {
					t.Errorf("the query in flight at %s: got status %d, body %q, error %v; want 200 with the scrape it waited for (x 2)", sig, a.code, a.body, a.err)
				}
			case <-ctx.Done():
				t.Fatalf("the query in flight at %s never answered", sig)
			}
			select {
			case <-exited:
				if got := exitStatus(cmd); got != "exit 0" {
					t.Errorf("serve after %s: %s, want exit 0; stderr:\n%s", sig, got, stderr)
				}
			case <-ctx.Done():
				t.Fatalf("serve still running after %s; stderr:\n%s", sig, stderr)
			}
		})
	}
}
