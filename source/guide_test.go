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
)
`

// TestGuideCodeCompiles type-checks every Go block of docs/guide.md against this module,
// so that a renamed function, a field gone or a wrong signature in the guide fails here:
// declarations (an import list, types, an engine) as a file, statements as the body of a
// function returning error, with ctx, k8sClient, restConfig, kubeconfigPath, podSource,
// result and t given. Unused variables and imports are allowed: the blocks are excerpts.
// A struct the guide shows under the name of a type of package source (MetricResult,
// MetricValue) must list fields that type has, of the same types.
func TestGuideCodeCompiles(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to find the packages' export data")
	}
	guide, err := os.ReadFile("../docs/guide.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```go\n(.*?)```").FindAllStringSubmatch(string(guide), -1)
	if len(blocks) < 10 {
		t.Fatalf("docs/guide.md: found %d Go blocks, want the guide's (at least 10)", len(blocks))
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
	for i, b := range blocks {
		code := b[1]
		line := 1 + strings.Count(string(guide[:strings.Index(string(guide), b[0])]), "\n")
		t.Run(fmt.Sprintf("line %d", line), func(t *testing.T) {
			var src string
			if strings.HasPrefix(strings.TrimSpace(code), "import") {
				src = "package guide\n" + code
			} else if _, err := parser.ParseFile(token.NewFileSet(), "", header.String()+code, 0); err == nil {
				src = header.String() + code // declarations
			} else {
				src = header.String() + guideVars + "\nfunc _() error {\n" + code + "\nreturn nil\n}\n"
			}
			f, err := parser.ParseFile(fset, fmt.Sprintf("guide.md block %d (line %d)", i, line), src, 0)
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
