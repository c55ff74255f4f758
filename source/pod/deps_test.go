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
