// Command buildenvtest builds the control-plane binaries that envtest, and so the
// podscrapetest kit, need — kube-apiserver and etcd, at the versions this repository
// tests with — from the Go module proxy into a directory, for a module outside this
// repository (inside it, make envtest does the same into bin/k8s). Run it from your own
// module, which requires github.com/podscrape/podscrape:
//
//	go run github.com/podscrape/podscrape/tools/buildenvtest -o bin/k8s
//	export KUBEBUILDER_ASSETS=$PWD/bin/k8s
//
// It needs only Go and the module proxy (no download of release archives): the first
// build takes about 8 minutes on 2 cores, later ones come from the Go build cache. The
// module it builds is a copy of tools/envtest's (a test keeps the two equal).
package main

import (
	"bufio"
	"embed"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// module is tools/envtest: go.mod, go.sum and etcd/main.go, stored with a .txt suffix
// so that Go tools do not take the copy for a module or a package of this one.
//
//go:embed module
var module embed.FS

func main() {
	out := flag.String("o", "bin/k8s", "directory to write kube-apiserver and etcd into")
	flag.Parse()
	if err := build(*out); err != nil {
		fmt.Fprintln(os.Stderr, "buildenvtest:", err)
		os.Exit(1)
	}
}

func build(out string) error {
	out, err := filepath.Abs(out)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "podscrape-envtest-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if err := writeModule(dir); err != nil {
		return err
	}
	apiserver, etcd, err := versions()
	if err != nil {
		return err
	}
	for _, b := range []struct{ name, pkg, version, took string }{
		{"etcd", "./etcd", etcd, "about 30 s cold"},
		{"kube-apiserver", "k8s.io/kubernetes/cmd/kube-apiserver", apiserver, "about 7 min cold on 2 cores"},
	} {
		fmt.Fprintf(os.Stderr, "buildenvtest: building %s %s into %s (%s)\n", b.name, b.version, out, b.took)
		cmd := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(out, b.name), b.pkg)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=readonly")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("go build %s: %w", b.pkg, err)
		}
	}
	fmt.Fprintf(os.Stderr, "buildenvtest: done; export KUBEBUILDER_ASSETS=%s\n", out)
	return nil
}

// writeModule writes the embedded module into dir, without the .txt suffixes.
func writeModule(dir string) error {
	return fs.WalkDir(module, "module", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := module.ReadFile(path)
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, strings.TrimSuffix(strings.TrimPrefix(path, "module/"), ".txt"))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		return os.WriteFile(dst, data, 0o644)
	})
}

// versions returns the kube-apiserver (k8s.io/kubernetes) and etcd versions the module
// pins.
func versions() (apiserver, etcd string, err error) {
	data, err := module.ReadFile("module/go.mod.txt")
	if err != nil {
		return "", "", err
	}
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "k8s.io/kubernetes":
			apiserver = f[1]
		case "go.etcd.io/etcd/server/v3":
			etcd = f[1]
		}
	}
	if apiserver == "" || etcd == "" {
		return "", "", fmt.Errorf("go.mod pins no k8s.io/kubernetes or go.etcd.io/etcd/server/v3")
	}
	return apiserver, etcd, nil
}
