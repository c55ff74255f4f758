package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// docsMarkdown are the Markdown files a reader follows links through.
func docsMarkdown(t *testing.T, root string) []string {
	t.Helper()
	docs, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	files := []string{filepath.Join(root, "README.md"), filepath.Join(root, "BENCH.md"), filepath.Join(root, "RELIABILITY.md")}
	return append(files, docs...)
}

// proseLine is a line of a Markdown file outside its fenced code blocks.
type proseLine struct {
	n    int // 1-based
	text string
}

// proseLines returns the lines of a Markdown file outside its fenced code blocks.
func proseLines(t *testing.T, file string) []proseLine {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var out []proseLine
	inBlock := false
	for i, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			inBlock = !inBlock
			continue
		}
		if !inBlock {
			out = append(out, proseLine{i + 1, line})
		}
	}
	return out
}

// headingAnchors returns the anchors GitHub gives the headings of a Markdown file:
// lowercased, punctuation but '-' and '_' dropped, spaces as '-', a repeated one
// suffixed -1, -2...
func headingAnchors(t *testing.T, file string) map[string]bool {
	t.Helper()
	heading := regexp.MustCompile(`^#{1,6}\s+(.*?)\s*$`)
	drop := regexp.MustCompile(`[^\p{L}\p{N}_\- ]`)
	seen := map[string]int{}
	out := map[string]bool{}
	for _, line := range proseLines(t, file) {
		m := heading.FindStringSubmatch(line.text)
		if m == nil {
			continue
		}
		a := strings.ReplaceAll(drop.ReplaceAllString(strings.ToLower(m[1]), ""), " ", "-")
		if n := seen[a]; n > 0 {
			out[a+"-"+strconv.Itoa(n)] = true
		} else {
			out[a] = true
		}
		seen[a]++
	}
	return out
}

// TestDocsLinksResolve: every relative link of the README and docs/ names a file or
// directory of the repository, and a #fragment a heading of the Markdown file it points
// into, so that a reader following the docs step by step lands where they say.
func TestDocsLinksResolve(t *testing.T) {
	t.Parallel()
	const root = "../.."
	link := regexp.MustCompile(`\]\(([^)\s]+)\)`)
	anchors := map[string]map[string]bool{}
	for _, file := range docsMarkdown(t, root) {
		rel, _ := filepath.Rel(root, file)
		for _, line := range proseLines(t, file) {
			n := line.n
			for _, m := range link.FindAllStringSubmatch(line.text, -1) {
				target := m[1]
				if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
					continue
				}
				path, fragment, _ := strings.Cut(target, "#")
				dest := file
				if path != "" {
					dest = filepath.Join(filepath.Dir(file), path)
				}
				info, err := os.Stat(dest)
				if err != nil {
					t.Errorf("%s:%d: link %s: %v", rel, n, target, err)
					continue
				}
				if fragment == "" {
					continue
				}
				if info.IsDir() || !strings.HasSuffix(dest, ".md") {
					t.Errorf("%s:%d: link %s: a #fragment into a file that is not Markdown", rel, n, target)
					continue
				}
				if anchors[dest] == nil {
					anchors[dest] = headingAnchors(t, dest)
				}
				if !anchors[dest][fragment] {
					t.Errorf("%s:%d: link %s: no heading of %s has the anchor #%s", rel, n, target, filepath.Base(dest), fragment)
				}
			}
		}
	}
}

// TestDocsMakeTargetsExist: every `make TARGET` the README and docs/ tell a reader to run
// is a target of the Makefile.
func TestDocsMakeTargetsExist(t *testing.T) {
	t.Parallel()
	const root = "../.."
	makefile, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	targets := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^([a-zA-Z][a-zA-Z0-9_-]*):`).FindAllStringSubmatch(string(makefile), -1) {
		targets[m[1]] = true
	}
	mention := regexp.MustCompile("(?:^|`)make ([a-z][a-z0-9_-]*)") // inline, or a code block's line
	for _, file := range docsMarkdown(t, root) {
		rel, _ := filepath.Rel(root, file)
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for n, line := range strings.Split(string(data), "\n") {
			for _, m := range mention.FindAllStringSubmatch(strings.TrimSpace(line), -1) {
				if !targets[m[1]] {
					t.Errorf("%s:%d: `make %s`: the Makefile has no target %s", rel, n+1, m[1], m[1])
				}
			}
		}
	}
}
