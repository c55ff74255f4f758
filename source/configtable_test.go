package source_test

import (
	"go/types"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// configTables are the Markdown files holding a table of PodScrapingSourceConfig's
// fields, with whether the table has a type column.
var configTables = map[string]bool{
	upstreamGuide:        true,
	"../docs/guide.md":   true,
	"../docs/library.md": false, // "Fields beyond the guide's table": field, default, meaning
}

// TestDocsConfigTablesNameEveryFieldWithItsType: every field a configuration table of
// the docs names is a field of pod.PodScrapingSourceConfig, of the type the table gives
// (`int32`, `time.Duration`, `client.Reader`: a literal constant in a code block would
// compile against an int as well), and every exported field is in the upstream guide's
// table or in docs/library.md's table of the fields beyond it.
func TestDocsConfigTablesNameEveryFieldWithItsType(t *testing.T) {
	dc := newDocChecker(t)
	podPkg, err := dc.imp.Import("github.com/podscrape/podscrape/source/pod")
	if err != nil {
		t.Fatal(err)
	}
	config := podPkg.Scope().Lookup("PodScrapingSourceConfig").Type().Underlying().(*types.Struct)
	fieldTypes := map[string]string{}
	for i := range config.NumFields() {
		if f := config.Field(i); f.Exported() {
			fieldTypes[f.Name()] = types.TypeString(f.Type(), func(p *types.Package) string { return p.Name() })
		}
	}

	row := regexp.MustCompile("(?m)^\\| `([A-Z]\\w*)`((?:, `[A-Z]\\w*`)*) \\|(?: `([^`|]+)` \\|)?")
	listed := map[string]bool{}
	for file, typed := range configTables {
		text, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, m := range row.FindAllStringSubmatch(string(text), -1) {
			fields := []string{m[1]}
			for _, more := range regexp.MustCompile("`(\\w+)`").FindAllStringSubmatch(m[2], -1) {
				fields = append(fields, more[1])
			}
			for _, name := range fields {
				want, ok := fieldTypes[name]
				if !ok {
					if typed || isConfigSection(string(text), m[0]) {
						t.Errorf("%s: the table names field %s, which PodScrapingSourceConfig does not have", file, name)
					}
					continue
				}
				names = append(names, name)
				listed[name] = listed[name] || file != "../docs/guide.md"
				if typed && len(fields) == 1 && m[3] != want {
					t.Errorf("%s: the table gives %s the type %q; PodScrapingSourceConfig has %q", file, name, m[3], want)
				}
			}
		}
		if len(names) < 12 {
			t.Errorf("%s: found %d config fields in tables, want at least 12: the table's form changed?", file, len(names))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(fieldTypes)) {
		if !listed[name] {
			t.Errorf("field %s is in neither the upstream guide's table nor docs/library.md's table of the fields beyond it", name)
		}
	}
}

// isConfigSection reports whether the table row is in a Markdown file's
// "## Configuration" section (docs/library.md's other tables name other things).
func isConfigSection(text, row string) bool {
	at := strings.Index(text, row)
	section := strings.LastIndex(text[:at], "\n## ")
	return section >= 0 && strings.HasPrefix(text[section+1:], "## Configuration")
}
