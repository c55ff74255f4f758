package main

import (
	"os/exec"
	"strings"
	"testing"
)

// goList is what `go list args...` prints.
func goList(t *testing.T, args ...string) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command, to list the imports: %v", err)
	}
	out, err := exec.Command(goTool, append([]string{"list"}, args...)...).Output()
	if err != nil {
		t.Fatalf("go list %s: %v", strings.Join(args, " "), err)
	}
	return string(out)
}

// TestInternalImportsNothingAbove keeps the layers the tree shows: internal/ holds what
// the library is built from, so no package under it imports source/ (the library's own
// packages) or cmd/; what only the CLI uses lives in cmd/podscrape/internal/.
func TestInternalImportsNothingAbove(t *testing.T) {
	t.Parallel()
	const mod = "github.com/podscrape/podscrape"
	lines := strings.Split(strings.TrimSpace(goList(t, "-f", `{{.ImportPath}} {{join .Imports " "}}`, mod+"/internal/...")), "\n")
	if len(lines) < 3 {
		t.Fatalf("go list: got %d internal packages, want them all", len(lines))
	}
	for _, line := range lines {
		f := strings.Fields(line)
		for _, imp := range f[1:] {
			if strings.HasPrefix(imp, mod+"/source") || strings.HasPrefix(imp, mod+"/cmd/") {
				t.Errorf("%s imports %s: internal/ must not point up at the library or the CLI", f[0], imp)
			}
		}
	}
}

// TestBinaryLinksNoServerNorPluginLoader keeps the podscrape binary (what `serve` runs in
// a cluster) light: no `plugin` package, which makes the linker keep and export every
// symbol (it came with kustomize, through k8s.io/cli-runtime, and took the binary from 64
// to 125 MB, half its resident pages); no k8s.io/apiserver (controller-runtime's metrics
// filters link its authenticator factories); no cloud SDKs.
func TestBinaryLinksNoServerNorPluginLoader(t *testing.T) {
	t.Parallel()
	deps := strings.Fields(goList(t, "-deps", "github.com/podscrape/podscrape/cmd/podscrape"))
	var usesClientGo bool
	for _, dep := range deps {
		usesClientGo = usesClientGo || dep == "k8s.io/client-go/tools/clientcmd"
		if dep == "plugin" {
			t.Errorf("the binary links the plugin package: every symbol kept and exported")
		}
		for _, p := range []string{"k8s.io/apiserver/", "k8s.io/cli-runtime/", "sigs.k8s.io/kustomize/",
			"sigs.k8s.io/controller-runtime/pkg/metrics/filters", "github.com/aws/", "github.com/Azure/", "cloud.google.com/"} {
			if strings.HasPrefix(dep, p) {
				t.Errorf("the binary links %s", dep)
			}
		}
	}
	if !usesClientGo {
		t.Fatalf("go list -deps: %d packages without clientcmd, want it (else this test proves nothing)", len(deps))
	}
}
