package promserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
)

// Options configure Start.
type Options struct {
	// Config is the prometheus.yml text (see PodScrapeConfig).
	Config string
	// Binary is the server's path. Zero: PROMETHEUS_BINARY, else bin/prometheus/prometheus
	// of this repository, built first when missing.
	Binary string
	// Log receives the server's output. Zero: discarded.
	Log io.Writer
	// Progress receives the build's progress when the binary must be built first.
	// Zero: discarded.
	Progress io.Writer
	// Args are extra command-line flags.
	Args []string
}

// Server is a running Prometheus server. Stop it when done.
type Server struct {
	// URL is the server's base URL, http://127.0.0.1:PORT.
	URL string
	// API is a client of its HTTP API.
	API v1.API

	cmd      *exec.Cmd
	dir      string
	waitErr  error
	waitDone chan struct{}
	stopOnce sync.Once
}

// Start writes the config, starts the server on a free loopback port and waits until it
// is ready (at most a minute).
func Start(ctx context.Context, opts Options) (*Server, error) {
	bin, err := binary(opts.Binary, opts.Progress)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "podscrape-prometheus-")
	if err != nil {
		return nil, err
	}
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(opts.Config), 0o600); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		s, err := start(ctx, bin, dir, cfgPath, opts)
		if err == nil {
			return s, nil
		}
		lastErr = err
	}
	_ = os.RemoveAll(dir)
	return nil, lastErr
}

func start(ctx context.Context, bin, dir, cfgPath string, opts Options) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	args := append([]string{
		"--config.file=" + cfgPath,
		"--storage.tsdb.path=" + filepath.Join(dir, "data"),
		"--web.listen-address=" + addr,
		"--log.level=warn",
	}, opts.Args...)
	cmd := exec.Command(bin, args...)
	out := opts.Log
	if out == nil {
		out = io.Discard
	}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start prometheus %s: %w", bin, err)
	}
	s := &Server{URL: "http://" + addr, cmd: cmd, dir: dir, waitDone: make(chan struct{})}
	go func() {
		s.waitErr = cmd.Wait()
		close(s.waitDone)
	}()
	client, err := api.NewClient(api.Config{Address: s.URL})
	if err != nil {
		_ = s.kill()
		return nil, err
	}
	s.API = v1.NewAPI(client)
	if err := s.waitReady(ctx, time.Minute); err != nil {
		_ = s.kill()
		return nil, err
	}
	return s, nil
}

// waitReady polls /-/ready until it answers 200, the process exits or the deadline.
func (s *Server) waitReady(ctx context.Context, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/-/ready", nil)
		if resp, err := http.DefaultTransport.RoundTrip(req); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-s.waitDone:
			return fmt.Errorf("prometheus %s exited before it was ready (Options.Log has its output): %w", s.cmd.Path, s.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("prometheus at %s not ready: %w", s.URL, ctx.Err())
		case <-tick.C:
		}
	}
}

// Stop terminates the server, waits for it and removes its directory.
func (s *Server) Stop() error {
	var err error
	s.stopOnce.Do(func() {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.waitDone:
		case <-time.After(10 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.waitDone
		}
		err = os.RemoveAll(s.dir)
	})
	return err
}

func (s *Server) kill() error {
	_ = s.cmd.Process.Kill()
	<-s.waitDone
	return nil
}

// PID is the server's process ID, for resource measurements.
func (s *Server) PID() int { return s.cmd.Process.Pid }

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// binary returns the server's path: explicit, PROMETHEUS_BINARY, or this repository's
// bin/prometheus/prometheus, built by hack/build-prometheus.sh when missing or stale.
func binary(explicit string, log io.Writer) (string, error) {
	if explicit != "" {
		return explicit, nil
	}
	return built("prometheus", "PROMETHEUS_BINARY", log)
}

// Promtool returns the path of promtool: PROMTOOL_BINARY, or this repository's
// bin/prometheus/promtool, built beside the server by hack/build-prometheus.sh when
// missing or stale; the build's progress goes to log (nil: nowhere).
func Promtool(log io.Writer) (string, error) {
	return built("promtool", "PROMTOOL_BINARY", log)
}

// TB is the part of testing.TB MustPromtool uses.
type TB interface {
	Helper()
	Fatal(args ...any)
}

// MustPromtool is Promtool for a test: the build's progress goes to stderr, and a
// failure to build it ends the test.
func MustPromtool(t TB) string {
	t.Helper()
	p, err := Promtool(os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// built returns the path in env, else this repository's bin/prometheus/name, once
// hack/build-prometheus.sh has built it.
func built(name, env string, log io.Writer) (string, error) {
	if b := os.Getenv(env); b != "" {
		return b, nil
	}
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	if log == nil {
		log = io.Discard
	}
	cmd := exec.Command(filepath.Join(root, "hack", "build-prometheus.sh"))
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build %s (hack/build-prometheus.sh): %w", name, err)
	}
	return filepath.Join(root, "bin", "prometheus", name), nil
}

// repoRoot is the nearest parent of the working directory holding tools/prometheus/go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "tools", "prometheus", "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("prometheus binaries: not inside the podscrape repository and PROMETHEUS_BINARY or PROMTOOL_BINARY is not set")
		}
		dir = parent
	}
}
