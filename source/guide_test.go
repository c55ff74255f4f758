package source_test

import (
	"bytes"
	"errors"
	"fmt"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"maps"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// guideImports are the packages docs/guide.md's code uses. Every block is checked with
// all of them imported (an unused import is not an error there).
var guideImports = map[string]string{
	"context":       "context",
	"errors":        "errors",
	"fmt":           "fmt",
	"time":          "time",
	"testing":       "testing",
	"client":        "sigs.k8s.io/controller-runtime/pkg/client",
	"cache":         "sigs.k8s.io/controller-runtime/pkg/cache",
	"manager":       "sigs.k8s.io/controller-runtime/pkg/manager",
	"rest":          "k8s.io/client-go/rest",
	"clientcmd":     "k8s.io/client-go/tools/clientcmd",
	"source":        "github.com/podscrape/podscrape/source",
	"pod":           "github.com/podscrape/podscrape/source/pod",
	"llmd":          "github.com/podscrape/podscrape/source/llmd",
	"prometheus":    "github.com/podscrape/podscrape/source/prometheus",
	"ctrl":          "sigs.k8s.io/controller-runtime",
	"podscrapetest": "github.com/podscrape/podscrape/podscrapetest",
}

// guideVars are what the guide's statements take as given, declared at package level so
// that a block may declare its own (podSource, err := ...) over them.
const guideVars = `
var (
	ctx            context.Context
	k8sClient      client.Client
	restConfig     *rest.Config
	kubeconfigPath string
	podSource      *pod.PodScrapingSource
	result         *source.MetricResult
	t              *testing.T
	mgr            manager.Manager
	config         pod.PodScrapingSourceConfig
	c              client.Reader
	params         map[string]string
)
`

// docFiles are the Markdown files whose Go blocks TestGuideCodeCompiles checks, each with
// what its blocks take as given beyond guideVars.
var docFiles = map[string]string{
	"../docs/guide.md":    "",
	"../README.md":        "",
	"../docs/library.md":  "var cfg *rest.Config",
	"../docs/backends.md": "var cfg struct{ MetricsBackend string } // the application's configuration",
}

// TestGuideCodeCompiles type-checks every Go block of docs/guide.md, README.md,
// docs/library.md and docs/backends.md against this module, so that a renamed function,
// a field gone or a wrong signature in the docs fails here: declarations (an import list,
// types, an engine) as a file, statements as the body of a function returning error,
// with ctx, k8sClient, restConfig, kubeconfigPath, podSource, result, t, mgr, config, c
// and params given (and a file's own, docFiles). Unused variables and imports are allowed: the blocks are excerpts.
// A struct the guide shows under the name of a type of package source (MetricResult,
// MetricValue) must list fields that type has, of the same types.
func TestGuideCodeCompiles(t *testing.T) {
	dc := newDocChecker(t)
	for _, file := range slices.Sorted(maps.Keys(docFiles)) {
		guide, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimPrefix(file, "../")
		blocks := goBlocks(string(guide))
		if min := map[bool]int{true: 10, false: 1}[name == "docs/guide.md"]; len(blocks) < min {
			t.Fatalf("%s: found %d Go blocks, want at least %d", name, len(blocks), min)
		}
		checkDocBlocks(t, name, string(guide), blocks, dc.header, guideVars+docFiles[file], dc.fset, dc.imp, dc.sourcePkg)
	}
}

// goBlocks returns the Go code blocks of a Markdown text: each match, and its code.
func goBlocks(markdown string) [][]string {
	return regexp.MustCompile("(?s)```go\n(.*?)```").FindAllStringSubmatch(markdown, -1)
}

// docChecker is what type-checking a Markdown file's Go blocks needs: the imports'
// export data, the header importing them, and package source to compare shown structs to.
type docChecker struct {
	fset      *token.FileSet
	imp       types.Importer
	header    string
	sourcePkg *types.Package
}

// newDocChecker finds the export data of guideImports (and their dependencies) in the
// build cache; it skips t when there is no go command.
func newDocChecker(t *testing.T) *docChecker {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to find the packages' export data")
	}

	// Export data of the imports and their dependencies, from the build cache.
	args := []string{"list", "-export", "-deps", "-f", "{{if .Export}}{{.ImportPath}}={{.Export}}{{end}}"}
	for _, path := range guideImports {
		args = append(args, path)
	}
	cmd := exec.Command(goTool, args...)
	cmd.Dir = ".."
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -export: %v\n%s", err, stderr.String())
	}
	exports := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if path, file, ok := strings.Cut(line, "="); ok {
			exports[path] = file
		}
	}
	fset := token.NewFileSet()
	imp := importer.ForCompiler(fset, "gc", func(path string) (io.ReadCloser, error) {
		file, ok := exports[path]
		if !ok {
			return nil, fmt.Errorf("no export data for %s", path)
		}
		return os.Open(file)
	})

	var header strings.Builder
	header.WriteString("package guide\n\nimport (\n")
	for _, name := range slices.Sorted(maps.Keys(guideImports)) {
		fmt.Fprintf(&header, "\t%s %q\n", name, guideImports[name])
	}
	header.WriteString(")\n")

	sourcePkg, err := imp.Import("github.com/podscrape/podscrape/source")
	if err != nil {
		t.Fatal(err)
	}
	return &docChecker{fset: fset, imp: imp, header: header.String(), sourcePkg: sourcePkg}
}

// checkDocBlocks type-checks the Go blocks of one Markdown file (see TestGuideCodeCompiles).
func checkDocBlocks(t *testing.T, name, guide string, blocks [][]string, header, vars string, fset *token.FileSet, imp types.Importer, sourcePkg *types.Package) {
	for i, b := range blocks {
		code := b[1]
		line := 1 + strings.Count(guide[:strings.Index(guide, b[0])], "\n")
		// An import list followed by statements (README's): the header imports them all.
		if _, err := parser.ParseFile(token.NewFileSet(), "", "package guide\n"+code, 0); err != nil &&
			strings.HasPrefix(strings.TrimSpace(code), "import (") {
			if _, rest, ok := strings.Cut(code, "\n)\n"); ok {
				code = rest
			}
		}
		t.Run(fmt.Sprintf("%s line %d", name, line), func(t *testing.T) {
			var src string
			if strings.HasPrefix(strings.TrimSpace(code), "import") {
				src = "package guide\n" + code
			} else if _, err := parser.ParseFile(token.NewFileSet(), "", header+code, 0); err == nil {
				src = header + code // declarations
			} else {
				src = header + vars + "\nfunc _() error {\n" + code + "\nreturn nil\n}\n"
			}
			f, err := parser.ParseFile(fset, fmt.Sprintf("%s block %d (line %d)", name, i, line), src, 0)
			if err != nil {
				t.Fatalf("does not parse: %v\n%s", err, src)
			}
			var errs []error
			conf := types.Config{Importer: imp, Error: func(err error) {
				var te types.Error
				if errors.As(err, &te) && te.Soft {
					return // unused variables and imports: the blocks are excerpts
				}
				errs = append(errs, err)
			}}
			pkg, _ := conf.Check("guide", fset, []*ast.File{f}, nil)
			for _, err := range errs {
				t.Errorf("%v", err)
			}
			if len(errs) > 0 {
				t.Logf("checked as:\n%s", src)
				return
			}
			checkShownStructs(t, pkg, sourcePkg)
		})
	}
}

// checkShownStructs requires every struct pkg declares under the name of a type of
// package source to list only fields that type has, each of the same type.
func checkShownStructs(t *testing.T, pkg, sourcePkg *types.Package) {
	t.Helper()
	qualifier := func(p *types.Package) string {
		if p == pkg {
			return "source" // the guide's types stand for source's
		}
		return p.Name()
	}
	for _, name := range pkg.Scope().Names() {
		shown, ok := pkg.Scope().Lookup(name).Type().Underlying().(*types.Struct)
		if !ok {
			continue
		}
		real, ok := sourcePkg.Scope().Lookup(name).(*types.TypeName)
		if !ok {
			continue
		}
		realStruct, ok := real.Type().Underlying().(*types.Struct)
		if !ok {
			t.Errorf("the guide shows %s as a struct; source.%s is %s", name, name, real.Type().Underlying())
			continue
		}
		fields := map[string]string{}
		for i := range realStruct.NumFields() {
			f := realStruct.Field(i)
			fields[f.Name()] = types.TypeString(f.Type(), qualifier)
		}
		for i := range shown.NumFields() {
			f := shown.Field(i)
			want, ok := fields[f.Name()]
			got := types.TypeString(f.Type(), qualifier)
			switch {
			case !ok:
				t.Errorf("the guide shows field %s.%s, which source.%s does not have", name, f.Name(), name)
			case got != want:
				t.Errorf("the guide shows field %s.%s as %s; source.%s has it as %s", name, f.Name(), got, name, want)
			}
		}
	}
}
