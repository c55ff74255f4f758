package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/podscrape/podscrape/internal/localcluster"
)

// buildBinary builds podscrape into dir, once for every test of the package, so that
// tests run the command as a person does: its own process, its signals, its exit status.
func buildBinary(dir string) (string, error) {
	bin := filepath.Join(dir, "podscrape")
	goCmd := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goCmd); err != nil {
		goCmd = "go"
	}
	cmd := exec.Command(goCmd, "build", "-o", bin, ".")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build -o %s ./cmd/podscrape: %w", bin, err)
	}
	return bin, nil
}

// binaryCommand is the built podscrape with the shared cluster's kubeconfig prepended to
// args, bound to ctx.
func binaryCommand(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, binary, append([]string{"--kubeconfig", kubeconfig}, args...)...)
	cmd.WaitDelay = 10 * time.Second
	return cmd
}

// runBinary runs the built podscrape to its end and returns what it wrote and its exit
// status.
func runBinary(t *testing.T, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := binaryCommand(ctx, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("podscrape %v: %v", args, err)
	}
	return result{stdout: stdout.String(), stderr: stderr.String(), code: cmd.ProcessState.ExitCode()}
}

// exitStatus describes how a finished process ended: its exit code, or the signal that
// killed it.
func exitStatus(cmd *exec.Cmd) string {
	if s := cmd.ProcessState; s != nil && s.ExitCode() == -1 {
		return s.String()
	}
	return fmt.Sprintf("exit %d", cmd.ProcessState.ExitCode())
}

// frames reads a watch's output as a pipe sees it (no terminal: frames follow each
// other, each starting with its header line, which starts with header) and sends each
// complete frame on the returned channel; the channel is closed when the output ends.
func frames(r io.Reader, header string) <-chan string {
	ch := make(chan string, 64)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(r)
		sc.Buffer(nil, 1<<20)
		var frame strings.Builder
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), header) && frame.Len() > 0 {
				ch <- frame.String()
				frame.Reset()
			}
			frame.WriteString(sc.Text() + "\n")
		}
	}()
	return ch
}

// nextFrame returns the next frame of ch, failing the test at the deadline of ctx or
// when the output ends.
func nextFrame(t *testing.T, ctx context.Context, ch <-chan string, stderr *bytes.Buffer) string {
	t.Helper()
	select {
	case f, ok := <-ch:
		if !ok {
			t.Fatalf("the watch's output ended; stderr:\n%s", stderr.String())
		}
		return f
	case <-ctx.Done():
		t.Fatalf("no frame before the deadline; stderr:\n%s", stderr.String())
	}
	return ""
}

// testService is a Service of the shared cluster whose pods are loopback servers that
// the test gives handlers; every pod is Ready.
type testService struct {
	namespace, name string
	port            int32
	selector        map[string]string
	block           *localcluster.AddressBlock // the pods' addresses
}

// newTestService creates a Service in the llm-d namespace with one pod per handler,
// named after the Service (NAME-0, NAME-1...).
// Not podscrapetest.NewService: it needs the kit's own API server; these pods go on cp.
func newTestService(t *testing.T, base string, handlers ...http.Handler) *testService {
	t.Helper()
	ctx := context.Background()
	name := unique(base)
	block := localcluster.NewAddressBlock()
	ips := make([]string, len(handlers))
	for i := range ips {
		ips[i] = block.Next()
	}
	servers, err := localcluster.ServeAll(ips, func(ip string) http.Handler {
		for i := range ips {
			if ips[i] == ip {
				return handlers[i]
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range servers {
		t.Cleanup(func() { _ = s.Close() })
	}
	svc := &testService{namespace: llmd.Namespace, name: name, port: int32(servers[0].Port),
		selector: map[string]string{"app": name}, block: block}
	if err := cp.CreateService(ctx, svc.namespace, name, svc.selector, svc.port); err != nil {
		t.Fatal(err)
	}
	for i, ip := range ips {
		svc.addPodAt(t, fmt.Sprintf("%s-%d", name, i), ip)
	}
	return svc
}

// addPod starts a server for h on a fresh loopback address and the Service's port, and
// creates its Ready pod, named podName.
func (s *testService) addPod(t *testing.T, podName string, h http.Handler) {
	t.Helper()
	ip := s.block.Next()
	srv, err := localcluster.Serve(ip, int(s.port), h)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	s.addPodAt(t, podName, ip)
}

func (s *testService) addPodAt(t *testing.T, podName, ip string) {
	t.Helper()
	spec := localcluster.PodSpec{Namespace: s.namespace, Name: podName, Labels: s.selector, IP: ip, Ready: true}
	if _, err := cp.CreatePod(context.Background(), spec); err != nil {
		t.Fatal(err)
	}
}

// exposing serves body as an exposition of contentType.
func exposing(contentType, body string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", contentType)
		_, _ = io.WriteString(w, body)
	})
}

const (
	textFormat  = "text/plain; version=0.0.4; charset=utf-8"
	openMetrics = "application/openmetrics-text; version=1.0.0; charset=utf-8"
)

// startPiped starts cmd with its stdout a pipe to read from and its stderr kept.
func startPiped(t *testing.T, cmd *exec.Cmd) (io.ReadCloser, *bytes.Buffer) {
	t.Helper()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return stdout, &stderr
}
