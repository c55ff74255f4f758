package serve_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/podscrape/podscrape/serve"
)

// A config file may start with YAML's document start ("---", as kubectl and helm write
// it) or with comments, in either form (under services: or the list alone): its form is
// the document's, not its first byte's. Duplicate keys and unknown fields stay errors.
func TestLoadFileFormIsTheDocuments(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, yaml, err string // err: "" for one Service loaded
	}{
		{"document start, map", "---\nservices:\n- name: vllm\n  port: 8000\n", ""},
		{"document start, list", "---\n- name: vllm\n  port: 8000\n", ""},
		{"comment, list", "# the Services\n- name: vllm\n  port: 8000\n", ""},
		{"comment, document start, map", "# serve.yaml\n---\n# vLLM\nservices:\n- name: vllm\n  port: 8000\n", ""},
		{"document start, unknown field", "---\n- name: vllm\n  port: 8000\n  intervl: 5s\n", `unknown field "intervl"`},
		{"comment, duplicate key", "# x\nservices:\n- name: vllm\n  port: 8000\n  port: 9000\n", `key "port" already set`},
		{"only comments", "# nothing yet\n", "no services"},
		{"a scalar", "---\nvllm\n", "want a map with services: or a list of Services, got \"vllm\""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".yaml")
			if err := os.WriteFile(path, []byte(tc.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			svcs, err := serve.LoadFile(path, "ns")
			switch {
			case tc.err == "" && (err != nil || len(svcs) != 1 || svcs[0].Source.ServiceName != "vllm" || svcs[0].Source.MetricsPort != 8000):
				t.Errorf("got %+v, %v; want Service vllm on port 8000", svcs, err)
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), path)):
				t.Errorf("got %v, want an error naming the file and saying %q", err, tc.err)
			}
		})
	}
}
