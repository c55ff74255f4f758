package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
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

// TestImageLinksNoDemo keeps the demo out of the image: .ko.yaml builds it with -tags
// nodemo, which leaves out the local control plane (envtest and the apiextensions types
// it installs CRDs with) and the simulated pods, about 11 MB a cluster never runs. In
// such a build "podscrape demo" says why it is missing and fails.
func TestImageLinksNoDemo(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../../.ko.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var ko struct {
		Builds []struct {
			Main  string   `json:"main"`
			Flags []string `json:"flags"`
		} `json:"builds"`
	}
	if err := yaml.Unmarshal(raw, &ko); err != nil {
		t.Fatalf(".ko.yaml: %v", err)
	}
	if len(ko.Builds) != 1 || ko.Builds[0].Main != "./cmd/podscrape" || !slices.Contains(ko.Builds[0].Flags, "-tags=nodemo") {
		t.Fatalf(".ko.yaml builds %+v, want ./cmd/podscrape with -tags=nodemo", ko.Builds)
	}
	const mod = "github.com/podscrape/podscrape"
	demoOnly := []string{mod + "/internal/localcluster", "sigs.k8s.io/controller-runtime/pkg/envtest", "k8s.io/apiextensions-apiserver/"}
	links := func(deps []string) []string {
		var found []string
		for _, dep := range deps {
			for _, p := range demoOnly {
				if strings.HasPrefix(dep, p) {
					found = append(found, dep)
				}
			}
		}
		return found
	}
	if got := links(strings.Fields(goList(t, "-deps", mod+"/cmd/podscrape"))); len(got) == 0 {
		t.Fatalf("the default build links none of %v: this test proves nothing", demoOnly)
	}
	if got := links(strings.Fields(goList(t, "-deps", "-tags=nodemo", mod+"/cmd/podscrape"))); len(got) > 0 {
		t.Errorf("with -tags=nodemo the binary links %v", got)
	}

	bin := filepath.Join(t.TempDir(), "podscrape")
	build := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-tags=nodemo", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build -tags=nodemo: %v\n%s", err, out)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, "demo", "--once")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	if cmd.ProcessState == nil || cmd.ProcessState.ExitCode() != exitRuntime || stdout.Len() > 0 ||
		stderr.String() != "Error: "+errNoDemoText+"\n" {
		t.Errorf("podscrape demo --once built with -tags=nodemo: %v, stdout %q, stderr %q; want exit %d and %q",
			err, stdout.String(), stderr.String(), exitRuntime, errNoDemoText)
	}
	help, err := exec.Command(bin, "--help").Output()
	if err != nil || strings.Contains(string(help), "demo") {
		t.Errorf("podscrape --help built with -tags=nodemo offers the demo (err %v):\n%s", err, help)
	}
}

// errNoDemoText is what the demo answers in a binary built with -tags=nodemo.
const errNoDemoText = "this podscrape was built without the demo (-tags nodemo, as the container image is); " +
	"run 'make demo' in a clone of the repository"
