package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestDocsListEveryScrapeReason requires docs/cli.md's list of wide's REASON values to be
// the Reason constants of source/pod, read from its source so a new reason cannot be
// missed.
func TestDocsListEveryScrapeReason(t *testing.T) {
	t.Parallel()
	f, err := parser.ParseFile(token.NewFileSet(), "../../source/pod/errors.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, spec := range g.Specs {
			v := spec.(*ast.ValueSpec)
			for i, name := range v.Names {
				if !strings.HasPrefix(name.Name, "Reason") || i >= len(v.Values) {
					continue
				}
				if lit, ok := v.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
					s, _ := strconv.Unquote(lit.Value)
					want = append(want, s)
				}
			}
		}
	}
	if len(want) < 5 {
		t.Fatalf("found %d Reason constants in source/pod/errors.go, want them all", len(want))
	}
	doc, err := os.ReadFile("../../docs/cli.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`failure REASON \(([^)]*)\)`).FindSubmatch(doc)
	if m == nil {
		t.Fatal("docs/cli.md: no \"failure REASON (...)\" list")
	}
	var got []string
	for _, r := range regexp.MustCompile("`([a-z_]+)`").FindAllSubmatch(m[1], -1) {
		got = append(got, string(r[1]))
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("docs/cli.md REASON list: got %v, want source/pod's reasons %v", got, want)
	}
}
