package podscrapetest_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/podscrape/podscrape/podscrapetest"
)

// TestStartOutsideTheRepositorySaysHowToBuildTheBinaries: in a consumer's module (outside
// this repository) with KUBEBUILDER_ASSETS unset, Start fails with an error that gives
// the one command building kube-apiserver and etcd for it, and the variable to set.
func TestStartOutsideTheRepositorySaysHowToBuildTheBinaries(t *testing.T) {
	t.Setenv("KUBEBUILDER_ASSETS", "")
	t.Chdir(t.TempDir())
	env, err := podscrapetest.Start(podscrapetest.Options{})
	if err == nil {
		_ = env.Stop()
		t.Fatal("Start: no error, want one saying how to build the control-plane binaries")
	}
	for _, want := range []string{
		"not inside the podscrape repository and KUBEBUILDER_ASSETS is not set",
		"go run github.com/podscrape/podscrape/tools/buildenvtest -o bin/k8s",
		"KUBEBUILDER_ASSETS=$PWD/bin/k8s",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Start: got %v, want it to say %q", err, want)
		}
	}
}

// TestStartWithoutTheBinariesSaysHowToBuildThem: KUBEBUILDER_ASSETS naming a directory
// without kube-apiserver or etcd fails with the same build command, naming what is
// missing.
func TestStartWithoutTheBinariesSaysHowToBuildThem(t *testing.T) {
	for _, tc := range []struct {
		name    string
		present []string
		missing string
	}{
		{"empty directory", nil, "has no kube-apiserver or etcd"},
		{"etcd only", []string{"etcd"}, "has no kube-apiserver:"},
		{"kube-apiserver only", []string{"kube-apiserver"}, "has no etcd:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, name := range tc.present {
				if err := os.WriteFile(filepath.Join(dir, name), nil, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			t.Setenv("KUBEBUILDER_ASSETS", dir)
			env, err := podscrapetest.Start(podscrapetest.Options{})
			if err == nil {
				_ = env.Stop()
				t.Fatal("Start: no error, want one saying how to build the control-plane binaries")
			}
			for _, want := range []string{
				dir + " " + tc.missing,
				"go run github.com/podscrape/podscrape/tools/buildenvtest -o bin/k8s",
				"KUBEBUILDER_ASSETS=$PWD/bin/k8s",
			} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Start: got %v, want it to say %q", err, want)
				}
			}
		})
	}
}
