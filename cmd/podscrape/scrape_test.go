package main

import (
	"bytes"
	"context"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/podscrape/podscrape/cmd/podscrape/internal/render"
)

// jsonDoc is the json output format, as a program reads it.
type jsonDoc struct{ render.JSONDocument }

func decodeJSON(t *testing.T, s string) []jsonDoc {
	t.Helper()
	var docs []jsonDoc
	dec := json.NewDecoder(strings.NewReader(s))
	for dec.More() {
		var d jsonDoc
		if err := dec.Decode(&d); err != nil {
			t.Fatalf("decode json output: %v\n%s", err, s)
		}
		docs = append(docs, d)
	}
	return docs
}

func (d *jsonDoc) upPods() []string {
	var pods []string
	for _, p := range d.Pods {
		if p.Up == 1 {
			pods = append(pods, p.Pod)
		}
	}
	return pods
}

func (d *jsonDoc) names() []string {
	set := map[string]bool{}
	for _, s := range d.Samples {
		set[s.Name] = true
	}
	var names []string
	for n := range set {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

func TestScrapeEveryOutputFormat(t *testing.T) {
	t.Parallel()
	vllm := []string{"scrape", llmd.VLLMService, "--port", port(llmd.VLLMPort)}
	for _, format := range []string{"table", "wide", "json", "prom"} {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			r := podscrape(t, append(vllm, "-o", format)...)
			if r.code != 0 {
				t.Fatalf("exit code: got %d, want 0; stderr:\n%s", r.code, r.stderr)
			}
			switch format {
			case "table", "wide":
				mustContain(t, "table", r.stdout, "Service llm-d/vllm: 2 of 2 pods up", "METRIC", "vllm:num_requests_waiting", "POD")
				if format == "wide" {
					mustContain(t, "wide", r.stdout, "TIMESTAMP", "REASON")
				}
				for _, skipped := range llmd.SkippedVLLMPods {
					if strings.Contains(r.stdout, skipped) {
						t.Fatalf("output names skipped pod %s:\n%s", skipped, r.stdout)
					}
				}
			case "json":
				docs := decodeJSON(t, r.stdout)
				if len(docs) != 1 || docs[0].Service != "llm-d/vllm" || !slices.Equal(docs[0].upPods(), llmd.VLLMPods) {
					t.Fatalf("json: got %+v, want llm-d/vllm with pods %v up", docs, llmd.VLLMPods)
				}
			case "prom":
				p := expfmt.NewTextParser(model.LegacyValidation)
				families, err := p.TextToMetricFamilies(strings.NewReader(r.stdout))
				if err != nil {
					t.Fatalf("prom output does not parse: %v", err)
				}
				up := families["up"]
				if up == nil || len(up.Metric) != 2 {
					t.Fatalf("prom: got up %v, want one per Ready pod", up)
				}
				for _, m := range families["vllm:num_requests_running"].GetMetric() {
					if pod := labelValue(m.GetLabel(), "pod"); !slices.Contains(llmd.VLLMPods, pod) {
						t.Fatalf("prom: vllm:num_requests_running with pod %q, want one of %v", pod, llmd.VLLMPods)
					}
				}
			}
		})
	}
}

func labelValue[L interface {
	GetName() string
	GetValue() string
}](ls []L, name string) string {
	for _, l := range ls {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

func TestScrapeEPPWithTheSecret(t *testing.T) {
	t.Parallel()
	r := podscrape(t, "-n", llmd.Namespace, "scrape", llmd.EPPService, "--port", port(llmd.EPPPort),
		"--secret", llmd.SecretName, "--secret-namespace", llmd.SecretNamespace, "-o", "json")
	if r.code != 0 {
		t.Fatalf("exit code: got %d, want 0; stderr:\n%s", r.code, r.stderr)
	}
	docs := decodeJSON(t, r.stdout)
	if len(docs) != 1 || !slices.Equal(docs[0].upPods(), llmd.EPPPods) {
		t.Fatalf("json: got %+v, want pods %v up", docs, llmd.EPPPods)
	}
	if !slices.Contains(docs[0].names(), "inference_pool_average_queue_size") {
		t.Fatalf("samples: got %v, want inference_pool_average_queue_size among them", docs[0].names())
	}
}

func TestScrapeMetricAndMatchFilters(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		flags []string
		want  []string
	}{
		{"metric", []string{"--metric", "vllm:num_requests_running", "--metric", "vllm:e2e_request_latency_seconds"},
			[]string{"vllm:e2e_request_latency_seconds_bucket", "vllm:e2e_request_latency_seconds_count",
				"vllm:e2e_request_latency_seconds_sum", "vllm:num_requests_running"}},
		{"match", []string{"--match", "^vllm:num_requests_"}, []string{"vllm:num_requests_running", "vllm:num_requests_waiting"}},
		{"both", []string{"--metric", "vllm:e2e_request_latency_seconds", "--match", "_count$"},
			[]string{"vllm:e2e_request_latency_seconds_count"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			args := append([]string{"scrape", llmd.VLLMService, "--port", port(llmd.VLLMPort), "-o", "json"}, tc.flags...)
			r := podscrape(t, args...)
			if r.code != 0 {
				t.Fatalf("exit code: got %d, want 0; stderr:\n%s", r.code, r.stderr)
			}
			doc := decodeJSON(t, r.stdout)[0]
			if got := doc.names(); !slices.Equal(got, tc.want) {
				t.Fatalf("sample names: got %v, want %v", got, tc.want)
			}
			if !slices.Equal(doc.upPods(), llmd.VLLMPods) {
				t.Fatalf("pods up: got %v, want %v (the status survives the filter)", doc.upPods(), llmd.VLLMPods)
			}
		})
	}
}

func TestScrapeEPPWithoutTokenFailsNamingServiceAndPods(t *testing.T) {
	t.Parallel()
	r := podscrape(t, "scrape", llmd.EPPService, "--port", port(llmd.EPPPort))
	if r.code != 1 {
		t.Fatalf("exit code: got %d, want 1; stderr:\n%s", r.code, r.stderr)
	}
	mustContain(t, "stderr", r.stderr, "llm-d/epp-service", "llm-d/epp-0", "llm-d/epp-1", "401")
	mustContain(t, "stdout (the pod status still shows)", r.stdout, "0 of 2 pods up", "HTTP status 401")
}

// TestScrapeNeverPrintsTheToken scrapes with a valid token that lacks the RBAC: the pods
// answer 403, and the token shows nowhere, logs included.
func TestScrapeNeverPrintsTheToken(t *testing.T) {
	t.Parallel()
	token, err := cp.ServiceAccountToken(context.Background(), llmd.SecretNamespace, "cli-no-rbac")
	if err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"table", "wide", "json", "prom"} {
		r := podscrape(t, "-v", "9", "scrape", llmd.EPPService, "--port", port(llmd.EPPPort), "--token", token, "-o", format)
		if r.code != 1 {
			t.Fatalf("-o %s: exit code: got %d, want 1; stderr:\n%s", format, r.code, r.stderr)
		}
		mustContain(t, "stderr", r.stderr, "403")
		if leaks(r.stdout+r.stderr, token) {
			t.Fatalf("-o %s: the token was printed", format)
		}
	}
	// Read from a Secret with the most verbose logs: client-go logs response bodies at
	// V(8), and the Secret's body holds the token.
	secretToken := secretToken(t)
	r := podscrape(t, "-v", "10", "scrape", llmd.EPPService, "--port", port(llmd.EPPPort),
		"--secret", llmd.SecretName, "--secret-namespace", llmd.SecretNamespace)
	if r.code != 0 {
		t.Fatalf("with --secret: exit code: got %d, want 0; stderr:\n%s", r.code, r.stderr)
	}
	if leaks(r.stdout+r.stderr, secretToken) {
		t.Fatal("with --secret and -v 10: the token was printed")
	}
	// A usage error with the token on the command line does not echo it either.
	r = podscrape(t, "scrape", llmd.EPPService, "--token", token, "--secret", "s", "--port", "1")
	if r.code != 2 || leaks(r.stdout+r.stderr, token) {
		t.Fatalf("usage error: got exit %d, token printed %v; want 2, false", r.code, leaks(r.stdout+r.stderr, token))
	}
}

// leaks reports whether out holds any 12 characters in a row of token: a token split
// over the lines of a hex dump (how client-go logs a protobuf body) counts.
func leaks(out, token string) bool {
	for i := 0; i+12 <= len(token); i++ {
		if strings.Contains(out, token[i:i+12]) {
			return true
		}
	}
	return false
}

// secretToken reads the metrics reader's token from its Secret.
func secretToken(t *testing.T) string {
	t.Helper()
	var s corev1.Secret
	if err := cp.Client.Get(context.Background(), client.ObjectKey{Namespace: llmd.SecretNamespace, Name: llmd.SecretName}, &s); err != nil {
		t.Fatal(err)
	}
	token := string(s.Data[llmd.SecretKey])
	if len(token) < 100 {
		t.Fatalf("secret %s/%s: got a %d-byte token, want a ServiceAccount token", llmd.SecretNamespace, llmd.SecretName, len(token))
	}
	return token
}

func TestScrapeRuntimeErrorsNameTheObject(t *testing.T) {
	t.Parallel()
	vllm := []string{"scrape", llmd.VLLMService, "--port", port(llmd.VLLMPort)}
	// A Secret whose key is there but holds no token (whitespace, as the library trims
	// it): not a Secret "without the key".
	blank := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: llmd.SecretNamespace, Name: unique("blank-token")},
		Data:       map[string][]byte{"token": []byte(" \n"), "ca.crt": []byte("x")},
	}
	if err := cp.Client.Create(t.Context(), blank); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cp.Client.Delete(context.Background(), blank) })
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"missing service", []string{"scrape", "no-such-service", "--port", "8000"}, []string{"llm-d/no-such-service", "not found"}},
		{"missing secret", append(vllm, "--secret", "no-such-secret"), []string{"secret llm-d/no-such-secret not found"}},
		{"secret without the key", append(vllm, "--secret", llmd.SecretName, "--secret-namespace", llmd.SecretNamespace, "--secret-key", "nope"),
			[]string{"secret " + llmd.SecretNamespace + "/" + llmd.SecretName, `no key "nope" (--secret-key; its keys: `}},
		{"secret without the key, listing its keys", append(vllm, "--secret", blank.Name, "--secret-namespace", blank.Namespace, "--secret-key", "bearer"),
			[]string{"secret " + blank.Namespace + "/" + blank.Name + ` has no key "bearer" (--secret-key; its keys: ca.crt, token)`}},
		{"secret with the key empty", append(vllm, "--secret", blank.Name, "--secret-namespace", blank.Namespace),
			[]string{"secret " + blank.Namespace + "/" + blank.Name + ` key "token" is empty (--secret-key)`}},
		{"wrong port", []string{"scrape", llmd.VLLMService, "--port", "9", "--timeout", "2s"}, []string{"llm-d/vllm", "llm-d/vllm-0", "llm-d/vllm-1"}},
		{"missing kubeconfig", []string{"--kubeconfig", "/nonexistent/kubeconfig", "scrape", "vllm", "--port", "8000"}, []string{"/nonexistent/kubeconfig"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := podscrape(t, tc.args...)
			if r.code != 1 {
				t.Fatalf("exit code: got %d, want 1; stderr:\n%s", r.code, r.stderr)
			}
			mustContain(t, "stderr", r.stderr, tc.want...)
		})
	}
}

// TestScrapeSecretErrorHintsRBACOnlyWhenForbidden: a --secret the identity may not read
// names the RBAC rule it needs; one that could not be read for another reason (the API
// server unreachable) says only what failed, as RELIABILITY.md decides: an RBAC hint
// there sends the operator after the wrong thing.
func TestScrapeSecretErrorHintsRBACOnlyWhenForbidden(t *testing.T) {
	t.Parallel()
	vllm := []string{"scrape", llmd.VLLMService, "--port", port(llmd.VLLMPort), "--secret", llmd.SecretName}
	const hint = "needs RBAC get on secrets"
	r := podscrape(t, append(vllm, "--as", "no-rights")...)
	if r.code != exitRuntime {
		t.Fatalf("forbidden: exit %d, want %d; stderr:\n%s", r.code, exitRuntime, r.stderr)
	}
	mustContain(t, "forbidden: stderr", r.stderr, "read secret llm-d/"+llmd.SecretName, hint+" in namespace llm-d", "forbidden")

	r = podscrape(t, append(vllm, "--server", "https://127.0.0.1:1")...)
	if r.code != exitRuntime {
		t.Fatalf("unreachable: exit %d, want %d; stderr:\n%s", r.code, exitRuntime, r.stderr)
	}
	mustContain(t, "unreachable: stderr", r.stderr, "read secret llm-d/"+llmd.SecretName, "connection refused")
	if strings.Contains(r.stderr, hint) {
		t.Errorf("unreachable API server: stderr %q hints at RBAC, which is not the cause", r.stderr)
	}
}

func TestScrapeServiceWithoutReadyPodsIsEmptyNotAnError(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc := unique("no-pods")
	if err := cp.CreateService(ctx, llmd.Namespace, svc, map[string]string{"app": "nothing"}, 8000); err != nil {
		t.Fatal(err)
	}
	r := podscrape(t, "scrape", svc, "--port", "8000")
	if r.code != 0 {
		t.Fatalf("exit code: got %d, want 0; stderr:\n%s", r.code, r.stderr)
	}
	mustContain(t, "stdout", r.stdout, "No ready pods behind service llm-d/no-pods")
}

func TestUsageErrorsNameTheFlag(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"scrape"}, "exactly one SERVICE argument"},
		{[]string{"scrape", "a", "b", "--port", "1"}, "exactly one SERVICE argument"},
		{[]string{"scrape", "vllm"}, "--port is required"},
		{[]string{"scrape", "vllm", "--port", "70000"}, "--port 70000 is outside 1-65535"},
		{[]string{"scrape", "vllm", "--port", "-1"}, "--port -1 is outside 1-65535"},
		{[]string{"scrape", "vllm", "--port", "abc"}, `invalid argument "abc" for "--port"`},
		{[]string{"scrape", "vllm", "--port", "1", "-o", "yaml"}, "--output must be one of table|wide|json|prom"},
		{[]string{"scrape", "vllm", "--port", "1", "--path", "metrics"}, `--path "metrics" must start with "/"`},
		{[]string{"scrape", "vllm", "--port", "1", "--scheme", "ftp"}, `--scheme must be http or https, got "ftp"`},
		{[]string{"scrape", "vllm", "--port", "1", "--secret-namespace", "x"}, "--secret-namespace needs --secret"},
		{[]string{"scrape", "vllm", "--port", "1", "--secret-key", "x"}, "--secret-key needs --secret"},
		{[]string{"scrape", "vllm", "--port", "1", "--secret", "s", "--token", "t"}, "--secret and --token are mutually exclusive"},
		{[]string{"scrape", "vllm", "--port", "1", "--timeout", "0s"}, "--timeout must be positive"},
		{[]string{"scrape", "vllm", "--port", "1", "--timeout", "soon"}, `invalid argument "soon" for "--timeout"`},
		{[]string{"scrape", "vllm", "--port", "1", "--concurrency", "0"}, "--concurrency must be at least 1"},
		{[]string{"scrape", "vllm", "--port", "1", "--metric", ""}, "--metric needs a metric name"},
		{[]string{"scrape", "vllm", "--port", "1", "--sample-limit", "-1"}, "--sample-limit must not be negative, got -1"},
		{[]string{"scrape", "vllm", "--port", "1", "--body-size-limit", "-1"}, `invalid argument "-1" for "--body-size-limit" flag: -1 is negative`},
		{[]string{"scrape", "vllm", "--port", "1", "--body-size-limit", "-1MiB"}, `invalid argument "-1MiB" for "--body-size-limit" flag: "-1MiB" is negative`},
		{[]string{"scrape", "vllm", "--port", "1", "--body-size-limit", "64XB"}, `invalid argument "64XB" for "--body-size-limit" flag: a size must be`},
		{[]string{"scrape", "vllm", "--port", "1", "--match", "("}, `--match "(" is not a regular expression`},
		{[]string{"scrape", "vllm", "--port", "1", "--watch", "-1s"}, "--watch must be a positive interval"},
		{[]string{"scrape", "vllm", "--port", "1", "--watch", "0s"}, "--watch must be a positive interval"},
		{[]string{"scrape", "vllm", "--port", "0"}, "--port 0 is outside 1-65535"},
		{[]string{"scrape", "vllm", "--port", "1", "--watch", "1s", "-o", "prom"}, "--watch works with -o table, wide or json"},
		{[]string{"scrape", "vllm", "--port", "1", "--bogus"}, "unknown flag: --bogus"},
		// What the library refuses is a usage error of every command, found before the
		// API is asked anything (the Secret read, here a "not found").
		{[]string{"query", "up", "vllm", "--port", "1", "--path", "/m#x"}, `--path: MetricsPath "/m#x" is not a path with an optional query`},
		{[]string{"scrape", "vllm", "--port", "1", "--secret", "s", "--secret-key", "bad key"}, `--secret-key: MetricsReaderSecretKey "bad key" is not a valid Secret data key`},
		{[]string{"query", "up", "vllm", "--port", "1", "--secret", "s", "--secret-key", "bad key"}, `--secret-key: MetricsReaderSecretKey "bad key" is not a valid Secret data key`},
		{[]string{"scrap", "vllm"}, `unknown command "scrap"`},
		{[]string{"demo", "extra"}, `unknown command "extra"`},
		{[]string{"demo", "--interval", "0s"}, "--interval must be positive"},
		{[]string{"demo", "-o", "prom"}, "--output prom is for one Service"},
		{[]string{"demo", "-o", "xml", "--once"}, `--output must be one of table|wide|json, got "xml"`},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			t.Parallel()
			r := podscrape(t, tc.args...)
			if r.code != 2 {
				t.Fatalf("exit code: got %d, want 2; stderr:\n%s", r.code, r.stderr)
			}
			mustContain(t, "stderr", r.stderr, tc.want, "--help' for usage")
			if r.stdout != "" {
				t.Fatalf("stdout: got %q, want nothing on a usage error", r.stdout)
			}
		})
	}
}

// frameWriter collects what a watch writes, one Write per frame, and calls onFrame after
// each.
type frameWriter struct {
	mu      sync.Mutex // protects frames
	frames  []string
	onFrame func(n int)
}

func (w *frameWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.frames = append(w.frames, string(p))
	n := len(w.frames)
	w.mu.Unlock()
	w.onFrame(n)
	return len(p), nil
}

// watchFrames runs a watch in-process until it has written n frames; between frames the
// simulated load moves on.
func watchFrames(t *testing.T, n int, args ...string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	w := &frameWriter{onFrame: func(got int) {
		for range 5 {
			llmd.Step()
		}
		if got == n {
			cancel()
		}
	}}
	var stderr bytes.Buffer
	code := run(ctx, append([]string{"--kubeconfig", kubeconfig}, args...), w, &stderr)
	if code != 0 {
		t.Fatalf("exit code: got %d, want 0 (Ctrl-C ends a watch normally); stderr:\n%s", code, stderr.String())
	}
	if len(w.frames) != n {
		t.Fatalf("frames: got %d, want %d", len(w.frames), n)
	}
	return w.frames
}

func TestScrapeWatchShowsWhatChanged(t *testing.T) {
	frames := watchFrames(t, 2, "scrape", llmd.VLLMService, "--port", port(llmd.VLLMPort),
		"--metric", "vllm:generation_tokens_total", "--metric", "vllm:num_requests_running", "--watch", "10ms")
	mustContain(t, "first frame", frames[0], "Every 10ms: podscrape scrape vllm -n llm-d", "CHANGE")
	if strings.Contains(frames[0], "Since the last refresh") {
		t.Fatalf("first frame: want no summary (nothing to compare with), got:\n%s", frames[0])
	}
	m := regexp.MustCompile(`Since the last refresh \([^)]*\): (\d+) changed`).FindStringSubmatch(frames[1])
	if m == nil || m[1] == "0" {
		t.Fatalf("second frame: want a summary with changes, got:\n%s", frames[1])
	}
	if !regexp.MustCompile(`vllm:generation_tokens_total\s+vllm-0\s+\d+\s+\+\d+\s`).MatchString(frames[1]) {
		t.Fatalf("second frame: want a +delta on vllm:generation_tokens_total of vllm-0, got:\n%s", frames[1])
	}
}

func TestScrapeWatchJSONStreamsDocuments(t *testing.T) {
	frames := watchFrames(t, 3, "scrape", llmd.VLLMService, "--port", port(llmd.VLLMPort), "-o", "json", "--watch", "10ms")
	for i, f := range frames {
		if strings.Count(f, "\n") != 1 {
			t.Fatalf("frame %d: want one line of JSON, got:\n%s", i, f)
		}
		if docs := decodeJSON(t, f); len(docs) != 1 || !slices.Equal(docs[0].upPods(), llmd.VLLMPods) {
			t.Fatalf("frame %d: got %+v, want one document with pods %v up", i, docs, llmd.VLLMPods)
		}
	}
}

// TestScrapeLimitFlags: --sample-limit and --body-size-limit bound what one pod may
// give, as a config file's sampleLimit and bodySizeLimit do for serve and Prometheus'
// sample_limit and body_size_limit: each vLLM pod exposes more than 5 samples and more
// than 1 KiB, so each fails alone with the limit's reason; limits above what they expose
// change nothing. Before, only serve's --config could set either.
func TestScrapeLimitFlags(t *testing.T) {
	t.Parallel()
	vllm := []string{"scrape", llmd.VLLMService, "--port", port(llmd.VLLMPort), "-o", "json"}
	for _, tc := range []struct {
		flags        []string
		reason, text string
	}{
		{[]string{"--sample-limit", "5"}, "sample_limit", "more than the limit of 5"},
		{[]string{"--body-size-limit", "1KiB"}, "body_too_large", "1024-byte limit"},
		{[]string{"--body-size-limit", "1024"}, "body_too_large", "1024-byte limit"},
	} {
		r := podscrape(t, append(vllm, tc.flags...)...)
		if r.code != 1 {
			t.Errorf("%v: exit %d, want 1 (every pod over the limit); stderr:\n%s", tc.flags, r.code, r.stderr)
			continue
		}
		docs := decodeJSON(t, r.stdout)
		if len(docs) != 1 || len(docs[0].Pods) != len(llmd.VLLMPods) {
			t.Fatalf("%v: %d documents, want one with %d pods:\n%s", tc.flags, len(docs), len(llmd.VLLMPods), r.stdout)
		}
		for _, p := range docs[0].Pods {
			if p.Up != 0 || p.Reason != tc.reason || !strings.Contains(p.Error, tc.text) {
				t.Errorf("%v: pod %s up %d reason %q error %q, want down with reason %s and %q", tc.flags, p.Pod, p.Up, p.Reason, p.Error, tc.reason, tc.text)
			}
		}
	}
	r := podscrape(t, append(vllm, "--sample-limit", "100000", "--body-size-limit", "64MiB")...)
	if r.code != 0 {
		t.Fatalf("limits above what the pods expose: exit %d, want 0; stderr:\n%s", r.code, r.stderr)
	}
	if docs := decodeJSON(t, r.stdout); len(docs) != 1 || !slices.Equal(docs[0].upPods(), llmd.VLLMPods) {
		t.Errorf("limits above what the pods expose: pods up %v, want %v", docs[0].upPods(), llmd.VLLMPods)
	}
}
