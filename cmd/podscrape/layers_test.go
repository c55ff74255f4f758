package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestInternalImportsNothingAbove keeps the layers the tree shows: internal/ holds what
// the library is built from, so no package under it imports source/ (the library's own
// packages) or cmd/; what only the CLI uses lives in cmd/podscrape/internal/.
func TestInternalImportsNothingAbove(t *testing.T) {
	t.Parallel()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command, to list the imports: %v", err)
	}
	const mod = "github.com/podscrape/podscrape"
	out, err := exec.Command(goTool, "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, mod+"/internal/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
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
