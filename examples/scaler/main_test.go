package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/podscrape/podscrape/podscrapetest"
)

// TestProgram builds the program and runs it against loopback pods, through a kubeconfig
// file and its own -kubeconfig flag: it would panic at start ("flag redefined:
// kubeconfig") if importing source/pod registered that flag.
func TestProgram(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "scaler")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	env, err := podscrapetest.Start(podscrapetest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer env.Stop()
	ctx := context.Background()
	svc, err := env.NewService(ctx, podscrapetest.ServiceOptions{
		Name: "vllm", Pods: 2, Body: "# TYPE vllm:num_requests_waiting gauge\nvllm:num_requests_waiting 3\n",
	})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	svc.Pod("vllm-1").SetBody("# TYPE other gauge\nother 1\n")
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := env.WriteKubeconfig(kubeconfig, svc.Namespace); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(bin, "-kubeconfig", kubeconfig, "-namespace", svc.Namespace, "-service", svc.Name,
		"-port", strconv.Itoa(int(svc.Port)), "-metric", "vllm:num_requests_waiting")
	cmd.Env = append(os.Environ(), "KUBECONFIG=/nonexistent") // the flag, not the environment, must be read
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("scaler: %v\n%s", err, out)
	}
	want := "vllm-0\tvllm:num_requests_waiting 3\nvllm-1\tup, no vllm:num_requests_waiting\n"
	if string(out) != want {
		t.Fatalf("output:\n got %q\nwant %q", out, want)
	}
}

// TestLoopOutlivesEveryPodFailing: with -interval the program is a loop that says, per
// pod, why there is no value; every pod failing at once (a rollout, an overload) is one
// of those answers, printed per pod, and the loop goes on to the next interval instead
// of exiting. An interrupt ends it with status 0.
func TestLoopOutlivesEveryPodFailing(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "scaler")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	env, err := podscrapetest.Start(podscrapetest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer env.Stop()
	ctx := context.Background()
	svc, err := env.NewService(ctx, podscrapetest.ServiceOptions{Name: "vllm", Pods: 2,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "overloaded", http.StatusServiceUnavailable)
		})})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := env.WriteKubeconfig(kubeconfig, svc.Namespace); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(bin, "-kubeconfig", kubeconfig, "-namespace", svc.Namespace, "-service", svc.Name,
		"-port", strconv.Itoa(int(svc.Port)), "-metric", "vllm:num_requests_waiting", "-interval", "10ms")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill() }()
	lines := bufio.NewScanner(stdout)
	for want := range 4 { // both pods, twice: the loop went on after the first failure
		if !lines.Scan() {
			_ = cmd.Wait()
			t.Fatalf("scaler ended after %d lines (%v); stderr:\n%s", want, cmd.ProcessState, stderr.String())
		}
		if got := lines.Text(); !strings.HasSuffix(got, "\tdown (http_status)") {
			t.Fatalf("line %d: got %q, want a pod down (http_status)", want, got)
		}
	}
	_ = cmd.Process.Signal(os.Interrupt)
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("scaler after an interrupt: %v; stderr:\n%s", err, stderr.String())
	}
}
