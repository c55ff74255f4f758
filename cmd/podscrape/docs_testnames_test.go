package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDocsNameOnlyTestsThatExist: every Test, Benchmark, Fuzz or Example function the
// docs (README.md, RELIABILITY.md, BENCH.md, docs/*.md) cite as the proof of a behaviour
// exists in a _test.go file of the module, so a renamed or deleted test cannot leave a
// claim pointing at nothing. A name followed by * stands for a family and is not looked
// up.
func TestDocsNameOnlyTestsThatExist(t *testing.T) {
	t.Parallel()
	const root = "../.."
	defined := map[string]bool{}
	funcRE := regexp.MustCompile(`(?m)^func ((?:Test|Benchmark|Fuzz|Example)\w*)\(`)
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "bin" || d.Name() == ".git") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range funcRE.FindAllStringSubmatch(string(src), -1) {
			defined[m[1]] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	docs, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"README.md", "RELIABILITY.md", "BENCH.md"} {
		docs = append(docs, filepath.Join(root, name))
	}
	citedRE := regexp.MustCompile(`\b((?:Test|Benchmark|Fuzz|Example)[A-Z_]\w*)(\*?)`)
	for _, doc := range docs {
		text, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range citedRE.FindAllStringSubmatch(string(text), -1) {
			if m[2] == "" && !defined[m[1]] {
				t.Errorf("%s cites %s, which no _test.go file defines", strings.TrimPrefix(doc, root+"/"), m[1])
			}
		}
	}
}
