package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestModuleIsToolsEnvtest keeps the embedded copy equal to tools/envtest, the module
// make envtest builds, so a consumer builds what this repository tests with.
func TestModuleIsToolsEnvtest(t *testing.T) {
	for _, f := range []string{"go.mod", "go.sum", "etcd/main.go"} {
		want, err := os.ReadFile(filepath.Join("..", "envtest", f))
		if err != nil {
			t.Fatal(err)
		}
		got, err := module.ReadFile("module/" + f + ".txt")
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("module/%s.txt differs from tools/envtest/%s: cp tools/envtest/%s tools/buildenvtest/module/%s.txt", f, f, f, f)
		}
	}
}

// TestWriteModule writes the module as go build reads it: the .txt suffixes gone.
func TestWriteModule(t *testing.T) {
	dir := t.TempDir()
	if err := writeModule(dir); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"go.mod", "go.sum", "etcd/main.go"} {
		want, _ := module.ReadFile("module/" + f + ".txt")
		got, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil || string(got) != string(want) {
			t.Errorf("%s: got %d bytes (%v), want the embedded %d", f, len(got), err, len(want))
		}
	}
}

// TestDocsNameTheCommandAndVersions requires the guide to give consumers this command and
// the versions it builds, and the kit's error to point at it.
func TestDocsNameTheCommandAndVersions(t *testing.T) {
	apiserver, etcd, err := versions()
	if err != nil {
		t.Fatal(err)
	}
	guide, err := os.ReadFile("../../docs/guide.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"go run github.com/podscrape/podscrape/tools/buildenvtest -o bin/k8s",
		"kube-apiserver " + apiserver, "etcd " + etcd,
	} {
		if !strings.Contains(string(guide), want) {
			t.Errorf("docs/guide.md: want it to say %q", want)
		}
	}
	msg, err := os.ReadFile("../../internal/localcluster/controlplane.go")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(msg), "go run github.com/podscrape/podscrape/tools/buildenvtest") {
		t.Error("internal/localcluster/controlplane.go: the kit's missing-binaries error does not name the command")
	}
}
