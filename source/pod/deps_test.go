package pod

import (
	"os/exec"
	"strings"
	"testing"
)

// Importing source/pod must not bring in controller-runtime's manager, webhook server or
// pkg/client/config: the last registers a global -kubeconfig flag at init, which crashes
// any program defining its own, and the root package pulls in all three.
func TestImportsNoControllerRuntimeManager(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command, to list the imports: %v", err)
	}
	pkgs := []string{"github.com/podscrape/podscrape/source/pod", "github.com/podscrape/podscrape/source"}
	out, err := exec.Command(goTool, append([]string{"list", "-deps"}, pkgs...)...).Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	const cr = "sigs.k8s.io/controller-runtime"
	forbidden := []string{cr, cr + "/pkg/manager", cr + "/pkg/webhook", cr + "/pkg/client/config"}
	var usesClient bool
	for _, dep := range deps {
		usesClient = usesClient || dep == cr+"/pkg/client"
		for _, f := range forbidden {
			if dep == f || (f != cr && strings.HasPrefix(dep, f+"/")) {
				t.Errorf("%s imports %s: want only the controller-runtime packages it uses", strings.Join(pkgs, " and "), dep)
			}
		}
	}
	if !usesClient {
		t.Fatalf("go list -deps: got %d packages without %s/pkg/client, want it (else this test proves nothing)", len(deps), cr)
	}
}

// source and source/pod log only through the logr logger of the caller's context
// (logr.FromContextOrDiscard): importing controller-runtime's pkg/log directly would let a
// program that never set that package's logger get its fallback's warning and stack trace.
func TestLogsOnlyThroughTheContextLogger(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command, to list the imports: %v", err)
	}
	pkgs := []string{"github.com/podscrape/podscrape/source/pod", "github.com/podscrape/podscrape/source"}
	out, err := exec.Command(goTool, append([]string{"list", "-f", "{{.ImportPath}}: {{join .Imports \" \"}}"}, pkgs...)...).Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var logr bool
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, imports, _ := strings.Cut(line, ": ")
		for _, imp := range strings.Fields(imports) {
			logr = logr || imp == "github.com/go-logr/logr"
			if strings.HasPrefix(imp, "sigs.k8s.io/controller-runtime/pkg/log") || imp == "k8s.io/klog/v2" {
				t.Errorf("%s imports %s: want logging only through the context's logr logger", pkg, imp)
			}
		}
	}
	if !logr {
		t.Fatalf("go list: no package imports github.com/go-logr/logr, want source/pod to (else this test proves nothing)\n%s", out)
	}
}
