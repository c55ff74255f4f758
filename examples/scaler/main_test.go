package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
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
