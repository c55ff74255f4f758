package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/podscrape/podscrape/cmd/podscrape/internal/render"
	"github.com/podscrape/podscrape/internal/promserver"
)

// TestQueryOnPrometheus runs the same query on the pods and, with --prometheus, on the
// real Prometheus server scraping them: both name the Ready vLLM pods.
func TestQueryOnPrometheus(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var sel string
	for k, v := range llmd.VLLMSelector {
		sel = k + "=" + v
	}
	prom, err := promserver.Start(ctx, promserver.Options{Config: promserver.PodScrapeConfig(kubeconfig, time.Second, promserver.PodJob{
		Name: "vllm", Namespace: llmd.Namespace, Selector: sel, Port: int(llmd.VLLMPort),
	})})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = prom.Stop() }()
	expr := `max by (pod) (vllm:num_requests_waiting{pod=~"` + llmd.VLLMPods[0] + `|` + llmd.VLLMPods[1] + `"})`
	// Prometheus scrapes each target on its own schedule: wait until it has both pods, not
	// just the first, or the comparison below races its second scrape.
	for {
		v, _, _, err := prom.API.Query(ctx, expr, time.Now())
		if vec, ok := v.(model.Vector); err == nil && ok && len(vec) == 2 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("Prometheus never scraped both %s and %s: %v", llmd.VLLMPods[0], llmd.VLLMPods[1], err)
		case <-time.After(100 * time.Millisecond): // polling with the test's deadline
		}
	}
	pods := func(args ...string) []string {
		t.Helper()
		r := runBinary(t, append([]string{"query", expr, "-o", "json"}, args...)...)
		if r.code != 0 {
			t.Fatalf("query %v: exit %d; stderr:\n%s", args, r.code, r.stderr)
		}
		var doc render.QueryDocument
		if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
			t.Fatalf("%v\n%s", err, r.stdout)
		}
		var out []string
		for _, s := range doc.Series {
			out = append(out, s.Labels["pod"])
		}
		slices.Sort(out)
		return out
	}
	direct := pods(llmd.VLLMService, "--port", port(llmd.VLLMPort))
	// A Prometheus scrape that fails (a loaded machine, a 1s timeout) hides that pod's
	// series until the next one: ask again, within the test's deadline, before comparing.
	viaProm := pods("--prometheus", prom.URL)
	for len(viaProm) < 2 && ctx.Err() == nil {
		viaProm = pods("--prometheus", prom.URL)
	}
	if fmt.Sprint(direct) != fmt.Sprint(viaProm) || len(direct) != 2 {
		t.Errorf("pods: direct %v, via Prometheus %v; want the same two", direct, viaProm)
	}

	r := runBinary(t, "query", "up", "--prometheus", "http://127.0.0.1:9", "--timeout", "2s")
	if r.code != 1 {
		t.Errorf("query on a closed port: exit %d, want 1; stderr:\n%s", r.code, r.stderr)
	}
	if r.stdout != "" || strings.Count(r.stderr, "Error:") != 1 {
		t.Errorf("query on a closed port: want the error once, on stderr; got stdout %q, stderr %q", r.stdout, r.stderr)
	}
}

// TestQueryPrometheusRefusesPodFlags: with --prometheus, a pod flag reaches nothing (the
// server scrapes the pods): each is a usage error naming it, --token pointing at
// --prometheus-token-file, rather than accepted and ignored (an operator's --token would
// leave the query anonymous). --timeout bounds the server's queries: accepted.
func TestQueryPrometheusRefusesPodFlags(t *testing.T) {
	t.Parallel()
	values := map[string]string{"port": "8000", "path": "/m", "scheme": "https", "secret": "s", "secret-namespace": "ns",
		"secret-key": "k", "token": "s3cret-t0ken", "concurrency": "0", "pod-ca-file": "/nonexistent",
		"pod-tls-server-name": "x", "pod-insecure-skip-tls-verify": "true", "sample-limit": "5", "body-size-limit": "64MiB"}
	for _, name := range podFlagNames() {
		if name == "timeout" {
			continue
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			value, ok := values[name]
			if !ok {
				t.Fatalf("no value for --%s: add one", name)
			}
			r := podscrape(t, "query", "up", "--prometheus", "http://127.0.0.1:9", "--"+name+"="+value)
			if r.code != exitUsage {
				t.Fatalf("exit: got %d, want %d; stderr:\n%s", r.code, exitUsage, r.stderr)
			}
			want := "Error: --" + name + " configures the pods' scrape"
			if name == "token" {
				want += "; for the server use --prometheus-token-file"
			}
			mustContain(t, "stderr", r.stderr, want)
			if strings.Contains(r.stderr, values["token"]) {
				t.Errorf("stderr shows the token: %s", r.stderr)
			}
		})
	}
	r := podscrape(t, "query", "up", "--prometheus", "http://"+closedPort(t), "--timeout", "300ms")
	if r.code != exitRuntime || strings.Contains(r.stderr, "--timeout") {
		t.Errorf("--timeout with --prometheus: got exit %d, stderr %q; want 1, the server unreachable", r.code, r.stderr)
	}
}

// TestQueryPrometheusURLCredentialsNeverPrinted: a hosted Prometheus takes its key as
// the URL's password (https://user:key@host) or as a query parameter (a gateway's
// subscription-key). The library redacts both from its errors; the command must not print
// them either: not in the answer's header (table) or "backend" (json), not in the error of
// a server that cannot be reached, not in the usage error of a URL it refuses.
func TestQueryPrometheusURLCredentialsNeverPrinted(t *testing.T) {
	t.Parallel()
	const password, key = "pw-canary-7d1e4b9a", "key-canary-3c8f0a52"
	prom, err := promserver.Start(t.Context(), promserver.Options{Config: "global:\n  scrape_interval: 1m\n"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = prom.Stop() }) // after the parallel subtests
	withCredentials := func(base string) string {
		u, err := url.Parse(base)
		if err != nil {
			t.Fatal(err)
		}
		u.User = url.UserPassword("reader", password)
		u.RawQuery = "subscription-key=" + key
		return u.String()
	}
	for _, tc := range []struct {
		name string
		args []string
		code int
	}{
		{"table", []string{"--prometheus", withCredentials(prom.URL)}, 0},
		{"json", []string{"--prometheus", withCredentials(prom.URL), "-o", "json"}, 0},
		{"unreachable", []string{"--prometheus", withCredentials("http://" + closedPort(t)), "--timeout", "300ms"}, exitRuntime},
		{"no scheme", []string{"--prometheus", "reader:" + password + "@127.0.0.1:9/?subscription-key=" + key}, exitUsage},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := podscrape(t, append([]string{"query", "vector(1)"}, tc.args...)...)
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d; stdout:\n%s\nstderr:\n%s", r.code, tc.code, r.stdout, r.stderr)
			}
			for _, secret := range []string{password, key} {
				if out := r.stdout + r.stderr; strings.Contains(out, secret) {
					t.Errorf("the output shows %q:\nstdout:\n%s\nstderr:\n%s", secret, r.stdout, r.stderr)
				}
			}
		})
	}
}

// TestQueryHelpSaysWhatTimeoutBoundsWithPrometheus: with --prometheus, --timeout is the
// one pod flag query keeps, as the time limit of each query on the server; its help says
// so, not only "each pod's scrape", which --prometheus does not do.
func TestQueryHelpSaysWhatTimeoutBoundsWithPrometheus(t *testing.T) {
	t.Parallel()
	r := podscrape(t, "query", "--help")
	for _, line := range strings.Split(r.stdout, "\n") {
		if strings.Contains(line, "--timeout duration") {
			mustContain(t, "query --help's --timeout", line, "each pod's scrape", "with --prometheus, of each query on the server")
			return
		}
	}
	t.Fatalf("query --help lists no --timeout:\n%s", r.stdout)
}

// TestQueryOnPrometheusLeavesTheExpressionToTheServer: with --prometheus, the server
// evaluates the expression, so the server says what it accepts: PromQL it has enabled
// (experimental functions, here limitk; a VictoriaMetrics server's MetricsQL) is
// answered, and an expression it refuses is the query's failure, exit 1 with the
// server's error, as docs/cli.md says. Before, the command parsed it with its own
// parser first and refused both as a usage error (exit 2), never asking the server.
func TestQueryOnPrometheusLeavesTheExpressionToTheServer(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	prom, err := promserver.Start(ctx, promserver.Options{Config: "global:\n  scrape_interval: 15s\n",
		Args: []string{"--enable-feature=promql-experimental-functions"}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = prom.Stop() }()

	r := podscrape(t, "query", "limitk(1, vector(7))", "--prometheus", prom.URL, "-o", "json")
	if r.code != exitOK {
		t.Fatalf("limitk on a server that enables it: exit %d, want 0; stderr:\n%s", r.code, r.stderr)
	}
	var doc render.QueryDocument
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	if len(doc.Series) != 1 || doc.Series[0].Value != "7" {
		t.Fatalf("limitk(1, vector(7)): got %+v, want one series of 7", doc.Series)
	}

	r = podscrape(t, "query", "sum(", "--prometheus", prom.URL)
	if r.code != exitRuntime {
		t.Fatalf("bad PromQL on the server: exit %d, want %d; stderr:\n%s", r.code, exitRuntime, r.stderr)
	}
	mustContain(t, "stderr", r.stderr, "Error: query on Prometheus at "+prom.URL+": ")
}
