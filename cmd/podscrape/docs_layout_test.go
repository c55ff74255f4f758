package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDocsLayoutNamesEveryPackageDirectory holds README.md's Layout table to the tree:
// every path it names exists, and every directory under source/, internal/, tools/,
// examples/, test/ and cmd/podscrape/internal/ is named, so a reader looking for where
// something lives finds it.
func TestDocsLayoutNamesEveryPackageDirectory(t *testing.T) {
	t.Parallel()
	const root = "../.."
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(readme), "\n## Layout\n")
	if !ok {
		t.Fatal("README.md has no ## Layout section")
	}
	table, _, _ = strings.Cut(table, "\n## ")
	named := map[string]bool{}
	for _, line := range strings.Split(table, "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 3 {
			continue
		}
		for _, m := range regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch(cells[1], -1) {
			p := strings.TrimSuffix(m[1], "/")
			named[p] = true
			if _, err := os.Stat(filepath.Join(root, p)); err != nil {
				t.Errorf("README.md's Layout names %s: %v", m[1], err)
			}
		}
	}
	for _, parent := range []string{"source", "internal", "tools", "examples", "test", "cmd/podscrape/internal"} {
		entries, err := os.ReadDir(filepath.Join(root, parent))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			p := parent + "/" + e.Name()
			if e.IsDir() && e.Name() != "testdata" && !named[p] {
				t.Errorf("README.md's Layout does not name %s/", p)
			}
		}
	}
}
