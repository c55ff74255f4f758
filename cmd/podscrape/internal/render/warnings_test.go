package render_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/podscrape/podscrape/cmd/podscrape/internal/render"
	"github.com/podscrape/podscrape/cmd/podscrape/internal/snapshot"
)

// TestWarningsShowInEveryFormat: a Snapshot's warnings (pods no longer scraped) end the
// table, with the pods that remain or with none, as "Warning: " lines, as query's table
// writes its result's; the json document carries them in "warnings" and stays one
// document. Before, no format showed them.
func TestWarningsShowInEveryFormat(t *testing.T) {
	const left = "service llm-d/vllm: 1 pods that answered earlier scrapes are no longer scraped, the answer leaves them out: pod vllm-1: not Ready"
	withPods := fixture()
	withPods.Warnings = []string{left}
	noPods := &snapshot.Snapshot{Service: "llm-d/vllm", CollectedAt: t0, Warnings: []string{left}}
	for name, s := range map[string]*snapshot.Snapshot{"pods": withPods, "no pods": noPods} {
		for _, format := range []render.Format{render.FormatTable, render.FormatWide} {
			for _, ch := range []*render.Changes{nil, render.Diff(fixture(), s)} {
				var b bytes.Buffer
				if err := render.Write(&b, s, render.Options{Format: format, Changes: ch}); err != nil {
					t.Fatal(err)
				}
				if !strings.HasSuffix(b.String(), "\nWarning: "+left+"\n") {
					t.Errorf("%s, %s, changes %v: want the table to end with the warning, got:\n%s", name, format, ch != nil, b.String())
				}
			}
		}
		var b bytes.Buffer
		if err := render.Write(&b, s, render.Options{Format: render.FormatJSON, Compact: true}); err != nil {
			t.Fatal(err)
		}
		var doc render.JSONDocument
		if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
			t.Fatalf("%s: json: %v\n%s", name, err, b.String())
		}
		if len(doc.Warnings) != 1 || doc.Warnings[0] != left {
			t.Errorf("%s: json warnings: got %q, want [%q]", name, doc.Warnings, left)
		}
	}
	if got := render.WarningLines(fixture()); got != "" {
		t.Errorf("no warnings: WarningLines %q, want none", got)
	}
}
