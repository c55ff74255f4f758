package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// demoCommand is podscrape demo run by the built binary, with TMPDIR a fresh directory:
// the control plane's temporary directories, and the demo's, go there, so the test can
// check they are all gone afterwards.
func demoCommand(t *testing.T, ctx context.Context, args ...string) (*exec.Cmd, string) {
	t.Helper()
	tmp := t.TempDir()
	cmd := exec.CommandContext(ctx, binary, append([]string{"demo"}, args...)...)
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	cmd.WaitDelay = 10 * time.Second
	return cmd, tmp
}

// runDemoOnceJSON runs demo with args (a one-shot JSON run), fails the test unless it
// exits 0 with one document per Service, and returns the documents, its stderr and its
// temporary directory.
func runDemoOnceJSON(t *testing.T, args ...string) ([]jsonDoc, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd, tmp := demoCommand(t, ctx, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("demo %s: %v (want exit 0); stderr:\n%s", strings.Join(args, " "), err, stderr.String())
	}
	docs := decodeJSON(t, stdout.String())
	if len(docs) != 3 {
		t.Fatalf("documents: got %d, want one per Service; stdout:\n%s", len(docs), stdout.String())
	}
	return docs, stderr.String(), tmp
}

// assertNothingLeft checks that the demo removed its temporary directories and that no
// process it started (kube-apiserver, etcd: their arguments name directories under tmp)
// is still running.
func assertNothingLeft(t *testing.T, tmp string) {
	t.Helper()
	entries, err := os.ReadDir(tmp)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("temporary directory %s: got %v left behind, want it empty", tmp, names)
	}
	cmdlines, err := filepath.Glob("/proc/[0-9]*/cmdline")
	if err != nil || len(cmdlines) == 0 {
		t.Log("no /proc: cannot look for leftover processes")
		return
	}
	for _, path := range cmdlines {
		b, err := os.ReadFile(path)
		if err != nil || !bytes.Contains(b, []byte(tmp)) {
			continue
		}
		t.Errorf("process %s still runs: %s", filepath.Dir(path), bytes.ReplaceAll(b, []byte{0}, []byte{' '}))
		// The demo under test started it: end it, so a failing test leaks nothing.
		if pid, err := strconv.Atoi(filepath.Base(filepath.Dir(path))); err == nil {
			if p, err := os.FindProcess(pid); err == nil {
				_ = p.Kill()
			}
		}
	}
}

// TestDemoOnceEndToEnd runs podscrape demo --once for real: a control plane, the llm-d
// install, both Services scraped (the EPPs with the Secret's token), and everything
// cleaned up on exit.
func TestDemoOnceEndToEnd(t *testing.T) {
	t.Parallel()
	docs, stderr, tmp := runDemoOnceJSON(t, "--once", "-o", "json")
	// Said plainly: the pods are not "not (Ready or terminating)", nor a Go slice.
	if want := "pods vllm-2-starting, vllm-3-terminating are skipped: one not Ready, one terminating."; !strings.Contains(stderr, want) {
		t.Errorf("stderr: want %q, got:\n%s", want, stderr)
	}
	for _, tc := range []struct {
		doc     jsonDoc
		service string
		pods    []string
	}{
		{docs[0], "llm-d/epp-service", []string{"epp-0", "epp-1"}}, // up: the token was accepted
		{docs[1], "llm-d/vllm", []string{"vllm-0", "vllm-1"}},      // the not-Ready and terminating pods skipped
		{docs[2], "llm-d/sglang", []string{"sglang-0"}},
	} {
		var all []string
		for _, p := range tc.doc.Pods {
			all = append(all, p.Pod)
		}
		if tc.doc.Service != tc.service || !slices.Equal(all, tc.pods) || !slices.Equal(tc.doc.upPods(), tc.pods) {
			t.Errorf("got %s with pods %v (up: %v), want %s with %v all up", tc.doc.Service, all, tc.doc.upPods(), tc.service, tc.pods)
		}
		if len(tc.doc.Samples) == 0 {
			t.Errorf("%s: got no samples", tc.service)
		}
	}
	// Today's llm-d by default (the metrics the demo shows of each): the EPP's
	// llm_d_epp_* names, vLLM's _total counters and engine label on pods of two variants,
	// SGLang's sglang:* set.
	if names := docs[0].names(); !slices.Contains(names, "llm_d_epp_flow_control_queue_size") ||
		!slices.Contains(names, "llm_d_epp_scheduler_attempts_total") {
		t.Errorf("EPP samples: got %v, want llm_d_epp_* names", names)
	}
	if names := docs[1].names(); !slices.Contains(names, "vllm:generation_tokens_total") {
		t.Errorf("vLLM samples: got %v, want today's names (_total counters)", names)
	}
	variants := map[string]bool{}
	for _, smp := range docs[1].Samples {
		if smp.Name == "vllm:num_requests_waiting" {
			if smp.Labels["engine"] == "" || smp.Labels["llm_d_ai_variant"] == "" {
				t.Errorf("vLLM sample %s %v: want the engine label and a variant", smp.Name, smp.Labels)
			}
			variants[smp.Labels["llm_d_ai_variant"]] = true
		}
	}
	if len(variants) != 2 {
		t.Errorf("vLLM variants: got %v, want two", slices.Collect(maps.Keys(variants)))
	}
	if names := docs[2].names(); !slices.Contains(names, "sglang:num_queue_reqs") {
		t.Errorf("SGLang samples: got %v, want sglang:*", names)
	}
	// The pods' up, labelled with their variant too, is their status, not a sample.
	for _, d := range docs {
		if names := d.names(); slices.Contains(names, "up") {
			t.Errorf("%s samples: got %v, want no up (it is the pods' status)", d.Service, names)
		}
	}
	assertNothingLeft(t, tmp)
}

// TestDemoOnceAll runs demo --once --all: every metric of every Service, and the same
// pods up as without --all. The model servers' samples, up too, carry their variant;
// the demo once read their up as a sample, found no pod status, and said "0 of 0 pods
// up" and "No ready pods" for vLLM and SGLang.
func TestDemoOnceAll(t *testing.T) {
	t.Parallel()
	docs, _, tmp := runDemoOnceJSON(t, "--once", "--all", "-o", "json")
	for i, pods := range [][]string{{"epp-0", "epp-1"}, {"vllm-0", "vllm-1"}, {"sglang-0"}} {
		d := docs[i]
		if got := d.upPods(); !slices.Equal(got, pods) || len(d.Pods) != len(pods) {
			t.Errorf("%s: got pods %+v, want %v all up", d.Service, d.Pods, pods)
		}
		if names := d.names(); len(names) < 10 || slices.Contains(names, "up") || slices.Contains(names, "scrape_duration_seconds") {
			t.Errorf("%s: got samples %v, want every metric and not the pods' status", d.Service, names)
		}
	}
	assertNothingLeft(t, tmp)
}

// TestDemoPreviousGeneration runs demo --once --generation previous: the pods expose the
// names of early 2026 (the EPP before llm_d_epp_*, vLLM without the engine label), the
// model servers still labelled with their variant.
func TestDemoPreviousGeneration(t *testing.T) {
	t.Parallel()
	docs, _, tmp := runDemoOnceJSON(t, "--once", "-o", "json", "--generation", "previous")
	if names := docs[0].names(); !slices.Contains(names, "inference_extension_flow_control_queue_size") ||
		slices.ContainsFunc(names, func(n string) bool { return strings.HasPrefix(n, "llm_d_epp_") }) {
		t.Errorf("EPP samples: got %v, want the previous names only", names)
	}
	for _, smp := range docs[1].Samples {
		if _, ok := smp.Labels["engine"]; ok || smp.Labels["llm_d_ai_variant"] == "" {
			t.Fatalf("vLLM sample %s %v: want no engine label and a variant", smp.Name, smp.Labels)
		}
	}
	assertNothingLeft(t, tmp)
}

// TestDemoJSONStartsNoPrometheus runs the refreshing demo with -o json, which shows no
// panel of the autoscaler's queries: it starts no Prometheus server for it (it once did,
// after building it when missing, and failed without it), writes only documents on
// stdout, and its header, with the commands to try, on stderr.
func TestDemoJSONStartsNoPrometheus(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd, tmp := demoCommand(t, ctx, "-o", "json", "--interval", "100ms")
	cmd.Env = append(cmd.Env, "PROMETHEUS_BINARY="+filepath.Join(tmp, "no-such-prometheus"))
	stdout, stderr := startPiped(t, cmd)
	dec := json.NewDecoder(stdout)
	var services []string
	for range 3 {
		var d jsonDoc
		if err := dec.Decode(&d); err != nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			t.Fatalf("reading the first documents: %v; stderr:\n%s", err, stderr.String())
		}
		services = append(services, d.Service)
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }() // never block the demo's writes
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if want := []string{"llm-d/epp-service", "llm-d/vllm", "llm-d/sglang"}; !slices.Equal(services, want) {
		t.Errorf("documents: got %v, want %v", services, want)
	}
	if got := exitStatus(cmd); got != "exit 0" || strings.Contains(stderr.String(), "Starting the Prometheus server") ||
		!strings.Contains(stderr.String(), "While it runs, scrape it yourself:") {
		t.Fatalf("got %s, want exit 0, no Prometheus server and the header on stderr; stderr:\n%s", got, stderr.String())
	}
	assertNothingLeft(t, tmp)
}

// TestDemoStopsCleanly starts the refreshing demo, waits for two refreshes, and ends it
// as a person does (Ctrl-C: exit 0) or as a pipe does ("| head" closing stdout: exit
// 141 and nothing said, see exitBrokenPipe): either way it stops its servers and control
// plane and leaves no process or directory behind. While it runs, the commands its
// header prints work as printed.
func TestDemoStopsCleanly(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		stop     func(cmd *exec.Cmd, stdout io.Closer) error
		wantExit string
	}{
		{"ctrl-c", func(cmd *exec.Cmd, _ io.Closer) error { return cmd.Process.Signal(os.Interrupt) }, "exit 0"},
		{"stdout closed", func(_ *exec.Cmd, stdout io.Closer) error { return stdout.Close() }, "exit 141"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			cmd, tmp := demoCommand(t, ctx, "--interval", "100ms")
			stdout, stderr := startPiped(t, cmd)
			view, err := readRefreshes(ctx, stdout, 2)
			if err != nil {
				t.Fatalf("%v; stderr:\n%s", err, stderr.String())
			}
			if !strings.Contains(view, "Service llm-d/epp-service: 2 of 2 pods up") ||
				!strings.Contains(view, "Service llm-d/vllm: 2 of 2 pods up") ||
				!strings.Contains(view, "Service llm-d/sglang: 1 of 1 pods up") {
				t.Errorf("view: want the three Services with every pod up, got:\n%s", view)
			}
			if !strings.Contains(view, "The autoscaler's queries, answered directly from the pods and by the Prometheus server") ||
				!strings.Contains(view, "queue_length") {
				t.Errorf("view: want the panel of the autoscaler's queries on both backends, got:\n%s", view)
			}
			if tc.name == "ctrl-c" {
				go func() { _, _ = io.Copy(io.Discard, stdout) }() // never block the demo's writes
				runPrintedCommands(t, view)
				queryDemoServe(t, view)
			}
			if err := tc.stop(cmd, stdout); err != nil {
				t.Fatal(err)
			}
			_ = cmd.Wait()
			if ctx.Err() != nil {
				t.Fatalf("the demo did not stop before the deadline; stderr:\n%s", stderr.String())
			}
			if got := exitStatus(cmd); got != tc.wantExit || strings.Contains(stderr.String(), "Error") {
				t.Fatalf("got %s, want %s and no error; stderr:\n%s", got, tc.wantExit, stderr.String())
			}
			assertNothingLeft(t, tmp)
		})
	}
}

// readRefreshes reads the demo's view until n refreshes of the three Services (3n summaries)
// have been written, and returns what it read.
func readRefreshes(ctx context.Context, r io.Reader, n int) (string, error) {
	type result struct {
		view string
		err  error
	}
	done := make(chan result, 1)
	go func() {
		var view strings.Builder
		sc := bufio.NewScanner(r)
		seen := 0
		for sc.Scan() {
			view.WriteString(sc.Text() + "\n")
			if strings.HasPrefix(sc.Text(), "Since the last refresh") {
				if seen++; seen == 3*n {
					done <- result{view: view.String()}
					return
				}
			}
		}
		done <- result{view: view.String(), err: fmt.Errorf("demo output ended after %d summaries, want %d", seen, 3*n)}
	}()
	select {
	case res := <-done:
		return res.view, res.err
	case <-ctx.Done():
		return "", fmt.Errorf("no %d refreshes before the deadline", n)
	}
}

// runPrintedCommands runs, with a shell, each command the demo's header prints under
// "scrape it yourself": each is runnable as printed (the binary's path, not a bare
// podscrape that may not be in PATH); the scrapes reach every pod of their Service, the
// query on the pods answers per pod, and the query on Prometheus answers.
func runPrintedCommands(t *testing.T, view string) {
	t.Helper()
	_, hint, ok := strings.Cut(view, "While it runs, scrape it yourself:\n")
	if !ok {
		t.Fatalf("view: want the commands to scrape the demo, got:\n%s", view)
	}
	var commands []string
	for line := range strings.Lines(hint) {
		if !strings.HasPrefix(line, "  ") {
			break
		}
		commands = append(commands, strings.TrimSpace(line))
	}
	if len(commands) != 4 {
		t.Fatalf("printed commands: got %q, want a scrape per Service and a query on the pods and on Prometheus", commands)
	}
	for _, c := range commands {
		if !strings.HasPrefix(c, binary+" ") {
			t.Fatalf("printed command %q: want it to start with the binary's path %s", c, binary)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		out, err := exec.CommandContext(ctx, "/bin/sh", "-c", c).CombinedOutput()
		cancel()
		want := "2 of 2 pods up"
		switch {
		case strings.Contains(c, " --prometheus "):
			want = "on Prometheus at" // its first scrape may be to come: any answer will do
		case strings.Contains(c, " query "):
			want = `pod="vllm-0"`
		}
		if err != nil || !strings.Contains(string(out), want) {
			t.Fatalf("printed command %s: got %v:\n%s\nwant exit 0 and %q", c, err, out, want)
		}
	}
}

// queryDemoServe asks the podscrape serve whose URL the demo's header prints for up of
// every pod of the three Services, as Grafana or promtool would.
func queryDemoServe(t *testing.T, view string) {
	t.Helper()
	m := regexp.MustCompile(`Point Grafana or promtool at .*: (http://\S+)`).FindStringSubmatch(view)
	if m == nil {
		t.Errorf("view: no URL of podscrape serve to point Grafana or promtool at:\n%s", view)
		return
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(m[1] + "/api/v1/query?query=" + url.QueryEscape("count(up == 1)"))
		if err != nil {
			t.Fatalf("the demo's serve at %s: %v", m[1], err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK && strings.Contains(string(body), `"5"]`) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the demo's serve at %s: count(up == 1) answered %d %s, want the 5 pods up", m[1], resp.StatusCode, body)
		}
		time.Sleep(50 * time.Millisecond) // polling until serve's scrapes saw every pod up
	}
}

// TestDemoOutsideTheRepositorySaysWhereItRuns: a podscrape built with the demo and run
// outside a clone (go install, then podscrape demo from the home directory), with
// KUBEBUILDER_ASSETS unset, has no bin/k8s to build the control plane into. Its error
// said to build the binaries "from your module", the podscrapetest kit's advice to a
// module of one's own: it now says to run the demo from the clone (make demo), or which
// variables to set, and the start line no longer claims bin/k8s for binaries found
// elsewhere.
func TestDemoOutsideTheRepositorySaysWhereItRuns(t *testing.T) {
	t.Setenv("KUBEBUILDER_ASSETS", "")
	t.Chdir(t.TempDir())
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"demo", "--once"}, &stdout, &stderr)
	if code != exitRuntime {
		t.Fatalf("exit: got %d, want %d; stderr:\n%s", code, exitRuntime, stderr.String())
	}
	mustContain(t, "stderr", stderr.String(), "not inside the podscrape repository", "run the demo from a clone of the repository",
		"make demo", "KUBEBUILDER_ASSETS", "PROMETHEUS_BINARY")
	if strings.Contains(stderr.String(), "from your module") {
		t.Errorf("stderr gives the kit's advice for a module of one's own:\n%s", stderr.String())
	}
	if stdout.Len() != 0 {
		t.Errorf("stdout: got %q, want nothing", stdout.String())
	}
}
