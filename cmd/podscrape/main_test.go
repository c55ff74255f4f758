package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/podscrape/podscrape/internal/localcluster"
)

// The control plane, llm-d install and kubeconfig that the tests share, and the built
// podscrape binary that tests run as a person does (see binary_test.go).
var (
	cp         *localcluster.ControlPlane
	llmd       *localcluster.LLMD
	kubeconfig string
	binary     string
)

func TestMain(m *testing.M) {
	ctrllog.SetLogger(logr.Discard()) // envtest logs through it; unset, it prints a warning
	os.Exit(setup(m))
}

func setup(m *testing.M) int {
	dir, err := os.MkdirTemp("", "podscrape-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	if binary, err = buildBinary(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return localcluster.Run(localcluster.Options{Progress: os.Stderr}, func(c *localcluster.ControlPlane) int {
		cp = c
		return cp.RunLLMD(localcluster.LLMDOptions{Seed: 1}, func(l *localcluster.LLMD) int {
			llmd = l
			for range 20 {
				llmd.Step()
			}
			dir, err := os.MkdirTemp("", "podscrape-cmd-test-")
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			defer os.RemoveAll(dir)
			kubeconfig = filepath.Join(dir, "kubeconfig")
			if err := localcluster.WriteKubeconfig(cp.Config, llmd.Namespace, kubeconfig); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			return m.Run()
		})
	})
}

// result is one run of the command.
type result struct {
	stdout, stderr string
	code           int
}

// podscrape runs the command in-process against the shared cluster (its kubeconfig
// prepended to args), as a person would type it.
func podscrape(t *testing.T, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	code := run(ctx, append([]string{"--kubeconfig", kubeconfig}, args...), &stdout, &stderr)
	return result{stdout: stdout.String(), stderr: stderr.String(), code: code}
}

// port formats a port for a flag.
func port(p int32) string { return fmt.Sprint(p) }

// mustContain fails unless s holds every one of wants.
func mustContain(t *testing.T, what, s string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(s, w) {
			t.Fatalf("%s: want it to contain %q, got:\n%s", what, w, s)
		}
	}
}

// objects numbers the objects tests create in the shared cluster.
var objects atomic.Int64

// unique returns base with a number no other call returned, so that a test creating
// Kubernetes objects can run again in the same process (-count).
func unique(base string) string {
	return fmt.Sprintf("%s-%d", base, objects.Add(1))
}
