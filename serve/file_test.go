package serve_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

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

// A tokenFile is read again at every scrape: a projected ServiceAccount token the kubelet
// rotates (and the old one expired) keeps the Service answering, as Prometheus reads
// credentials_file at every scrape.
func TestTokenFileIsReadAtEveryScrape(t *testing.T) {
	dir := t.TempDir()
	tokenPath := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenPath, []byte("first\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var accepted atomic.Value
	accepted.Store("Bearer first")
	svc := newService(t, "vllm", 1, waiting)
	svc.Pods()[0].SetHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != accepted.Load().(string) {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		_, _ = w.Write([]byte(waiting))
	}))
	cfgPath := filepath.Join(dir, "serve.yaml")
	if err := os.WriteFile(cfgPath, []byte("services:\n- name: "+svc.Name+"\n  namespace: "+svc.Namespace+
		"\n  port: "+strconv.Itoa(int(svc.Port))+"\n  tokenFile: token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	svcs, err := serve.LoadFile(cfgPath, "default")
	if err != nil {
		t.Fatal(err)
	}
	base := startServer(t, serve.Config{Services: svcs, MaxAge: time.Nanosecond})
	if code, r := query(t, base, "sum(vllm:num_requests_waiting)"); code != http.StatusOK {
		t.Fatalf("the first token: got %d %q, want 200", code, r.Error)
	}
	// The kubelet swaps the new token in; the old one expires.
	if err := os.WriteFile(tokenPath+".new", []byte("second\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tokenPath+".new", tokenPath); err != nil {
		t.Fatal(err)
	}
	accepted.Store("Bearer second")
	if code, r := query(t, base, "sum(vllm:num_requests_waiting)"); code != http.StatusOK {
		t.Errorf("after the token file was rotated: got %d %q, want 200", code, r.Error)
	}
}
