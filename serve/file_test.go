package serve_test

import (
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/podscrape/podscrape/internal/localcluster"
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

// An error in a config file names the line, the Service and the field, whatever it is:
// a duration that does not parse, a value of the wrong type, an unknown key, a key of
// another case (matched exactly, as Kubernetes matches its objects' keys: "Port" is not
// port, and never silently overrides it), a Service listed twice.
func TestLoadFileErrorsNameTheLineServiceAndField(t *testing.T) {
	dir := t.TempDir()
	const head = "# Services\nservices:\n- name: vllm\n  port: 8000\n- name: epp\n  port: 9090\n"
	for _, tc := range []struct{ name, yaml, want string }{
		{"bad interval", head + "  interval: 5x\n", `line 7: services[1] (epp): interval: cannot parse "5x"`},
		{"bad timeout", head + "  timeout: soon\n  interval: 5s\n", `line 7: services[1] (epp): timeout: cannot parse "soon"`},
		{"number for a duration", head + "  interval: 5\n", `line 7: services[1] (epp): interval: a duration must be a string such as "15s", got 5`},
		// A value of the wrong type in YAML's words, not json's Go struct and type.
		{"string for a port", "services:\n- name: vllm\n  port: \"8000\"\n", `line 3: services[0] (vllm): port: want a whole number, got a string`},
		{"fraction for a limit", head + "  sampleLimit: 1.5\n", `line 7: services[1] (epp): sampleLimit: want a whole number, got 1.5`},
		{"string for a bool", head + "  insecureSkipTLSVerify: \"yes\"\n", `line 7: services[1] (epp): insecureSkipTLSVerify: want true or false, got a string`},
		{"map for podLabels", head + "  podLabels: {app: x}\n", `line 7: services[1] (epp): podLabels: want a list of strings, got a map`},
		{"list for a name", head + "- name: [a]\n  port: 8000\n", `line 7: services[2] (): name: want a string, got a list`},
		{"unknown field", head + "  prot: 9090\n", `line 7: services[1] (epp): prot: unknown field "prot"`},
		{"another case", head + "  Port: 9091\n", `line 7: services[1] (epp): Port: unknown field "Port"`},
		{"a Service twice", head + "- name: vllm\n  namespace: ns\n  port: 8000\n",
			`line 7: services[2] (vllm): Service ns/vllm is already services[0]: list each Service once`},
		// Another port of it (a sidecar's metrics): one history and job per Service.
		{"a Service twice, on another port", head + "- name: vllm\n  namespace: ns\n  port: 8001\n",
			`line 7: services[2] (vllm): Service ns/vllm is already services[0], on port 8000: serve scrapes one port of each Service`},
		{"list form", "- name: vllm\n  port: 8000\n  interval: 1 minute\n", `line 3: services[0] (vllm): interval: cannot parse "1 minute"`},
		// A value the pod source refuses: at its key's line, naming the key.
		{"path without a slash", head + "  path: metrics\n", `line 7: services[1] (epp): path: MetricsPath "metrics" does not start with "/"`},
		{"unknown scheme", head + "  interval: 5s\n  scheme: ftp\n", `line 8: services[1] (epp): scheme: MetricsScheme "ftp"`},
		{"negative concurrency", head + "  concurrency: -1\n", `line 7: services[1] (epp): concurrency: MaxConcurrentScrapes -1 is negative`},
		{"bad secret namespace", head + "  secret: s\n  secretNamespace: Bad_NS\n", `line 8: services[1] (epp): secretNamespace: `},
		// A value that decodes but is out of range: at its own line too, naming it.
		{"negative interval", head + "  interval: -5s\n", `line 7: services[1] (epp): interval: -5s is negative`},
		{"negative timeout", head + "  interval: 5s\n  timeout: '-1'\n", `line 8: services[1] (epp): timeout: -1s is negative`},
		// No key is at fault, the item or the file's own key is: at its line still.
		{"a Service's name alone", head + "- vllm-b\n", `line 7: services[2]: a Service is a map of its keys (name, port, ...), got "vllm-b"`},
		{"a Service as a list", head + "- [vllm-b, 8000]\n", `line 7: services[2]: a Service is a map of its keys (name, port, ...), got "[vllm-b, 8000]"`},
		{"a Service's key not under it", head + "interval: 5s\n", `line 7: interval: unknown field "interval"`},
		{"services not a list", "services:\n  name: vllm\n  port: 8000\n", `line 1: services: want a list of Services`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".yaml")
			if err := os.WriteFile(path, []byte(tc.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := serve.LoadFile(path, "ns")
			if err == nil || !strings.Contains(err.Error(), "config file "+path+": "+tc.want) {
				t.Errorf("got %v, want an error containing %q", err, "config file "+path+": "+tc.want)
			}
		})
	}
}

// A value the pod source refuses is at its own key's line, naming the key, whatever the
// source's message says: the key is the one of the field its *pod.ConfigError names
// (the message was searched for Go field names, so rewording one put the error at the
// Service's line, naming no key). Of keys in conflict, the one to unset: caFile set
// without https, even below tlsServerName.
func TestLoadFileSourceErrorsAtTheKeysLine(t *testing.T) {
	dir := t.TempDir()
	ca, err := localcluster.NewCA("podscrape-serve-file-test")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "ca.pem"), ca.PEM, 0o600); err != nil {
		t.Fatal(err)
	}
	const head = "services:\n- name: vllm\n  port: 8000\n- name: epp\n  port: 9090\n"
	for _, tc := range []struct {
		name, yaml string
		at         string // "line N: services[i] (name): key: "
		value      string // the value refused, as the message quotes it
	}{
		{"name", head + "- name: Bad_Name\n  port: 9091\n", "line 6: services[2] (Bad_Name): name: ", `"Bad_Name"`},
		{"namespace", head + "  namespace: Bad_NS\n", "line 6: services[1] (epp): namespace: ", `"Bad_NS"`},
		{"path", head + "  path: metrics\n", "line 6: services[1] (epp): path: ", `"metrics"`},
		{"path with a fragment", head + "  path: /metrics#x\n", "line 6: services[1] (epp): path: ", `"/metrics#x"`},
		{"scheme", head + "  interval: 5s\n  scheme: ftp\n", "line 7: services[1] (epp): scheme: ", `"ftp"`},
		{"secret", head + "  secret: bad/secret\n", "line 6: services[1] (epp): secret: ", `"bad/secret"`},
		{"secret namespace", head + "  secret: s\n  secretNamespace: Bad_NS\n", "line 7: services[1] (epp): secretNamespace: ", `"Bad_NS"`},
		{"secret key", head + "  secret: s\n  secretKey: a/b\n", "line 7: services[1] (epp): secretKey: ", `"a/b"`},
		{"concurrency", head + "  concurrency: -1\n", "line 6: services[1] (epp): concurrency: ", "-1"},
		{"concurrency huge", head + "  concurrency: 1099511627776\n", "line 6: services[1] (epp): concurrency: ", "1099511627776"},
		{"tlsServerName over http", head + "  tlsServerName: pods\n", "line 6: services[1] (epp): tlsServerName: ", `"http"`},
		{"insecureSkipTLSVerify over http", head + "  scheme: http\n  insecureSkipTLSVerify: true\n", "line 7: services[1] (epp): insecureSkipTLSVerify: ", `"http"`},
		{"caFile over http, below tlsServerName", head + "  tlsServerName: pods\n  caFile: ca.pem\n", "line 7: services[1] (epp): caFile: ", `"http"`},
		{"podLabels", head + "  podLabels:\n  - app\n  - pod\n", "line 6: services[1] (epp): podLabels: ", `"pod"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".yaml")
			if err := os.WriteFile(path, []byte(tc.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := serve.LoadFile(path, "ns")
			want := "config file " + path + ": " + tc.at
			if err == nil || !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), tc.value) {
				t.Errorf("got %v, want an error starting %q and quoting %s", err, want, tc.value)
			}
		})
	}
}

// A value the file's own checks refuse is at its key's line too, not at the Service's
// first line: a port out of range, a timeout above the interval, an interval or timeout
// under a millisecond, a negative sampleLimit
// or seriesLimit, a tokenFile with a secret or missing, a caFile missing or without a
// certificate.
func TestLoadFileServiceErrorsAtTheKeysLine(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "token"), []byte("t\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "garbage.pem"), []byte("not PEM\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const head = "services:\n- name: vllm\n  port: 8000\n- name: epp\n"
	for _, tc := range []struct{ name, yaml, want string }{
		{"port", head + "  namespace: ns\n  port: 70000\n", "line 6: services[1] (epp): port 70000 is outside 1-65535"},
		{"timeout above interval", head + "  port: 9090\n  timeout: 10s\n  interval: 5s\n", "line 6: services[1] (epp): timeout 10s is greater than interval 5s"},
		// Config.validate refuses them too, but naming neither the file nor the line.
		{"interval under a millisecond", head + "  port: 9090\n  interval: 500us\n", "line 6: services[1] (epp): interval: 500µs is shorter than 1ms: the history's timestamps are milliseconds"},
		{"timeout under a millisecond", head + "  port: 9090\n  timeout: 500us\n", "line 6: services[1] (epp): timeout: 500µs is shorter than 1ms: no pod answers within it"},
		{"sampleLimit", head + "  port: 9090\n  sampleLimit: -1\n", "line 6: services[1] (epp): sampleLimit -1 is negative"},
		{"seriesLimit", head + "  port: 9090\n  seriesLimit: -1\n", "line 6: services[1] (epp): seriesLimit -1 is negative"},
		{"tokenFile with secret", head + "  port: 9090\n  secret: s\n  tokenFile: token\n", "line 7: services[1] (epp): secret and tokenFile are mutually exclusive"},
		{"tokenFile missing", head + "  port: 9090\n  tokenFile: missing\n", "line 6: services[1] (epp): tokenFile: stat "},
		{"caFile missing", head + "  port: 9090\n  scheme: https\n  caFile: missing.pem\n", "line 7: services[1] (epp): caFile: open "},
		{"caFile without a certificate", head + "  port: 9090\n  scheme: https\n  caFile: garbage.pem\n", "line 7: services[1] (epp): caFile garbage.pem holds no PEM certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".yaml")
			if err := os.WriteFile(path, []byte(tc.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := serve.LoadFile(path, "ns")
			if want := "config file " + path + ": " + tc.want; err == nil || !strings.HasPrefix(err.Error(), want) {
				t.Errorf("got %v, want an error starting %q", err, want)
			}
		})
	}
}

// Durations are written as Prometheus or Go write them: "1.5s", which --interval and
// --timeout take, is no Prometheus duration but is accepted.
func TestLoadFileDurationsAsGoWritesThem(t *testing.T) {
	path := filepath.Join(t.TempDir(), "serve.yaml")
	if err := os.WriteFile(path, []byte("services:\n- name: vllm\n  port: 8000\n  interval: 1m30s\n  timeout: 1.5s\n- name: epp\n  port: 9090\n  interval: 1d\n  timeout: 250ms\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	svcs, err := serve.LoadFile(path, "ns")
	if err != nil {
		t.Fatal(err)
	}
	if got := []time.Duration{svcs[0].Interval, svcs[0].Source.ScrapeTimeout, svcs[1].Interval, svcs[1].Source.ScrapeTimeout}; got[0] != 90*time.Second ||
		got[1] != 1500*time.Millisecond || got[2] != 24*time.Hour || got[3] != 250*time.Millisecond {
		t.Errorf("intervals and timeouts %v, want [1m30s 1.5s 24h0m0s 250ms]", got)
	}
}

// A zero interval or timeout is the default, as in Prometheus' scrape config, however it
// is written: `timeout: 0`, a YAML number (Prometheus reads it as the string "0"), was
// refused, "a duration must be a string such as \"15s\", got 0", though docs/serve.md
// says a zero one is the default. Another bare number has no unit and is still refused.
func TestLoadFileZeroDurationIsTheDefault(t *testing.T) {
	dir := t.TempDir()
	for _, zero := range []string{"0", "'0'", "0s"} {
		path := filepath.Join(dir, "serve.yaml")
		yaml := "services:\n- name: vllm\n  port: 8000\n  interval: " + zero + "\n  timeout: " + zero + "\n"
		if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		svcs, err := serve.LoadFile(path, "ns")
		if err != nil {
			t.Errorf("interval and timeout %s: %v, want the defaults", zero, err)
			continue
		}
		if svcs[0].Interval != 0 || svcs[0].Source.ScrapeTimeout != 0 {
			t.Errorf("interval and timeout %s: got %v and %v, want 0 (the defaults)", zero, svcs[0].Interval, svcs[0].Source.ScrapeTimeout)
		}
	}
	path := filepath.Join(dir, "five.yaml")
	if err := os.WriteFile(path, []byte("services:\n- name: vllm\n  port: 8000\n  timeout: 5\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := serve.LoadFile(path, "ns"); err == nil || !strings.Contains(err.Error(), `timeout: a duration must be a string such as "15s", got 5`) {
		t.Errorf("timeout: 5: got %v, want it refused", err)
	}
}

// A Service of the file sets the per-pod limits Prometheus' scrape_config sets:
// sampleLimit (sample_limit) and bodySizeLimit (body_size_limit, read as Prometheus reads
// it: "MB" and "MiB" are both 2^20 bytes; or a number of bytes). Without them a pod whose
// exposition passed 16 MiB could never be served, its error naming MaxBodyBytes, which no
// key of the file set, and a pod whose cardinality exploded could not be failed alone:
// it filled the Service's history, and a new pod's series were refused.
func TestLoadFileLimits(t *testing.T) {
	dir := t.TempDir()
	load := func(name, yaml string) ([]serve.ServiceConfig, error) {
		path := filepath.Join(dir, name+".yaml")
		if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		return serve.LoadFile(path, "ns")
	}
	svcs, err := load("limits", "services:\n- name: vllm\n  port: 8000\n  sampleLimit: 50000\n  bodySizeLimit: 100MB\n  seriesLimit: 500000\n"+
		"- name: epp\n  port: 9090\n  bodySizeLimit: 64MiB\n- name: big\n  port: 9091\n  bodySizeLimit: 1048577\n- name: plain\n  port: 9092\n")
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []struct {
		samples int
		bytes   int64
		series  int
	}{{50000, 100 << 20, 500000}, {0, 64 << 20, 0}, {0, 1<<20 + 1, 0}, {0, 0, 0}} {
		if got := svcs[i].Source; got.SampleLimit != want.samples || got.MaxBodyBytes != want.bytes || svcs[i].SeriesLimit != want.series {
			t.Errorf("services[%d]: SampleLimit %d, MaxBodyBytes %d, SeriesLimit %d; want %d, %d and %d", i, got.SampleLimit, got.MaxBodyBytes, svcs[i].SeriesLimit, want.samples, want.bytes, want.series)
		}
	}
	for _, tc := range []struct{ name, yaml, want string }{
		{"negative sample limit", "- name: vllm\n  port: 8000\n  sampleLimit: -1\n", "services[0] (vllm): sampleLimit -1 is negative"},
		{"negative series limit", "- name: vllm\n  port: 8000\n  seriesLimit: -1\n", "services[0] (vllm): seriesLimit -1 is negative"},
		{"negative body size", "- name: vllm\n  port: 8000\n  bodySizeLimit: -5\n", "services[0] (vllm): bodySizeLimit: -5 is negative"},
		{"body size unit", "- name: vllm\n  port: 8000\n  bodySizeLimit: 10 parsecs\n", "line 3: services[0] (vllm): bodySizeLimit: "},
		{"body size fraction", "- name: vllm\n  port: 8000\n  bodySizeLimit: 1.5\n", "line 3: services[0] (vllm): bodySizeLimit: "},
	} {
		if _, err := load(strings.ReplaceAll(tc.name, " ", "-"), tc.yaml); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
}

// TestDeployServeYAMLListsEveryKey: deploy/serve.yaml's opening comment, which an
// operator edits the Services from, names every key a Service of the config file
// accepts (FileService's). It left out concurrency, insecureSkipTLSVerify, sampleLimit,
// bodySizeLimit and seriesLimit, so the limits an operator should set where a pod's
// cardinality could explode were not to be found there.
func TestDeployServeYAMLListsEveryKey(t *testing.T) {
	data, err := os.ReadFile("../deploy/serve.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var comment strings.Builder
	for _, line := range strings.Split(string(data), "\n") {
		if !strings.HasPrefix(line, "#") {
			break
		}
		comment.WriteString(line + "\n")
	}
	typ := reflect.TypeFor[serve.FileService]()
	for i := range typ.NumField() {
		key, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
		if key == "" || key == "-" {
			continue
		}
		if !regexp.MustCompile(`\b` + regexp.QuoteMeta(key) + `\b`).MatchString(comment.String()) {
			t.Errorf("deploy/serve.yaml's opening comment does not name the key %s:\n%s", key, comment.String())
		}
	}
}
