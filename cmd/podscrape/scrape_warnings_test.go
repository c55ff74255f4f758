package main

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// watchInProcess runs the watch of args in-process, as main does, and returns its frames
// (a watch writes each in one Write) and its stderr, which reports the first match of
// warn; the test's cleanup ends it as Ctrl-C does and checks that it exits 0. In-process,
// a frame arrives once the refresh before it has written its stderr.
func watchInProcess(t *testing.T, warn *regexp.Regexp, args ...string) (<-chan string, *lineWriter) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	ch := make(chan string)
	var w *frameWriter
	w = &frameWriter{onFrame: func(n int) {
		w.mu.Lock()
		f := w.frames[n-1]
		w.mu.Unlock()
		select {
		case ch <- f:
		case <-ctx.Done():
		}
	}}
	stderr := &lineWriter{re: warn, found: make(chan string, 1)}
	done := make(chan int, 1)
	go func() { done <- run(ctx, append([]string{"--kubeconfig", kubeconfig}, args...), w, stderr) }()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != exitOK {
			t.Errorf("Ctrl-C: exit %d, want 0; stderr:\n%s", code, stderr)
		}
	})
	return ch, stderr
}

// TestScrapeWatchNamesAPodTurnedNotReady: under scrape --watch, a pod that answered
// turns not Ready (under load, often the busiest): it is no longer scraped, and the
// library's results say so in their Warnings. The refreshes without it must say so too,
// as query's do, in every format: the table's frame has the query's "Warning:" line;
// -o json's document has it in "warnings", and stderr the "Warning:" line, stdout
// staying one JSON document per line. Before, the pod vanished from the output without a
// word: its load left the sums, and nothing said why.
func TestScrapeWatchNamesAPodTurnedNotReady(t *testing.T) {
	t.Parallel()
	for _, format := range []string{"table", "wide", "json"} {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			svc := newTestService(t, "sunready-"+format,
				exposing(textFormat, "# TYPE q gauge\nq 1\n"),
				exposing(textFormat, "# TYPE q gauge\nq 7\n"))
			busy := svc.name + "-1"
			// The wording is the library's; the pod and "not Ready" are what it must name.
			warning := regexp.MustCompile(`(?m)^(Warning: .*pod ` + regexp.QuoteMeta(busy) + `: not Ready.*)$`)
			frames, stderr := watchInProcess(t, warning, "-n", svc.namespace, "scrape", svc.name,
				"--port", port(svc.port), "-o", format, "--watch", "50ms")
			next := func() string {
				t.Helper()
				select {
				case f := <-frames:
					return f
				case <-ctx.Done():
					t.Fatalf("no frame before the deadline; stderr:\n%s", stderr)
				}
				return ""
			}
			// pods is how many pods a frame lists.
			pods := func(frame string) int {
				t.Helper()
				if format != "json" {
					mustContain(t, "frame", frame, "pods up")
					return len(regexp.MustCompile(`(?m)^`+regexp.QuoteMeta(svc.name)+`-\d\s`).FindAllString(frame, -1))
				}
				var doc struct{ Pods []struct{ Pod string } }
				if err := json.Unmarshal([]byte(frame), &doc); err != nil {
					t.Fatalf("stdout is not one JSON document per refresh: %v\n%s", err, frame)
				}
				return len(doc.Pods)
			}
			for pods(next()) != 2 {
			}
			var p corev1.Pod
			if err := cp.Client.Get(ctx, client.ObjectKey{Namespace: svc.namespace, Name: busy}, &p); err != nil {
				t.Fatal(err)
			}
			if err := cp.SetPodStatus(ctx, &p, p.Status.PodIP, false); err != nil {
				t.Fatal(err)
			}
			frame := next()
			for pods(frame) != 1 { // refreshed before the pod's status reached it
				frame = next()
			}
			if format != "json" {
				if !warning.MatchString(frame) {
					t.Fatalf("a frame without pod %s, no longer Ready, does not say so on a Warning: line:\n%s", busy, frame)
				}
				if strings.Contains(stderr.String(), "Warning:") {
					t.Errorf("-o %s: the warning is the frame's, not stderr's:\n%s", format, stderr)
				}
				return
			}
			var doc struct{ Warnings []string }
			if err := json.Unmarshal([]byte(frame), &doc); err != nil {
				t.Fatal(err)
			}
			if len(doc.Warnings) != 1 || !strings.Contains(doc.Warnings[0], "pod "+busy+": not Ready") {
				t.Errorf("document without pod %s, no longer Ready: warnings %q, want one naming it:\n%s", busy, doc.Warnings, frame)
			}
			pods(next()) // written after the refresh before it wrote its stderr
			if !warning.MatchString(stderr.String()) {
				t.Fatalf("stderr does not name pod %s, no longer Ready, on a Warning: line:\n%s", busy, stderr)
			}
		})
	}
}

// TestScrapeWatchJSONTellsStderrWhatItsDocumentsLack: scrape --watch -o json writes on
// stderr, after each document, what a one-shot -o json writes there: a pod that failed
// while others did not, and a --metric the pods do not expose (a typo), which no
// document says at all. Before, the stream was silent on stderr: `| jq '.samples[]'`
// showed the other metrics' samples, as if the typo's metric did not exist, and the
// healthy pods' samples, as if they were the whole load.
func TestScrapeWatchJSONTellsStderrWhatItsDocumentsLack(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	svc := newTestService(t, "wlacks", exposing(textFormat, "# TYPE x gauge\nx 1\n"), brokenPod())
	want := []string{
		"Warning: service " + svc.namespace + "/" + svc.name + ": pod " + svc.name + "-1: HTTP status 500",
		`No sample of --metric "vllm:num_requests_wating": the pods that answered expose none.`,
	}
	frames, stderr := watchInProcess(t, regexp.MustCompile("("+regexp.QuoteMeta(want[0])+")"), "-n", svc.namespace, "scrape", svc.name,
		"--port", port(svc.port), "-o", "json", "--watch", "50ms", "--metric", "x", "--metric", "vllm:num_requests_wating")
	for range 2 { // the second written after the first's stderr
		select {
		case f := <-frames:
			if !json.Valid([]byte(f)) {
				t.Fatalf("stdout is not one JSON document per refresh:\n%s", f)
			}
		case <-ctx.Done():
			t.Fatalf("no frame before the deadline; stderr:\n%s", stderr)
		}
	}
	mustContain(t, "stderr", stderr.String(), want...)
}

// TestWatchJSONSaysOnStderrWhenARefreshFails: a refresh of scrape --watch -o json or
// query --watch -o json in which every pod failed (or the Service is gone) has its error
// in its document, and on stderr what a one-shot -o json writes there: the error. Before,
// stderr stayed silent, so `| jq -c '.samples'` streamed [] (or query's `.series`, [])
// with nothing on the terminal to tell no data from no load.
func TestWatchJSONSaysOnStderrWhenARefreshFails(t *testing.T) {
	t.Parallel()
	for _, command := range []string{"scrape", "query"} {
		t.Run(command, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			svc := newTestService(t, "wfail"+command, brokenPod())
			args := []string{"-n", svc.namespace, command}
			if command == "query" {
				args = append(args, "sum(x)")
			}
			args = append(args, svc.name, "--port", port(svc.port), "-o", "json", "--watch", "50ms")
			failed := regexp.MustCompile(`(?m)^(Error: .*every ready pod failed.*)$`)
			frames, stderr := watchInProcess(t, failed, args...)
			for range 2 { // the second written after the first's stderr
				select {
				case f := <-frames:
					var doc struct {
						Error string `json:"error"`
					}
					if err := json.Unmarshal([]byte(f), &doc); err != nil || doc.Error == "" {
						t.Fatalf("stdout: want one JSON document per refresh with its error, got (%v):\n%s", err, f)
					}
				case <-ctx.Done():
					t.Fatalf("no frame before the deadline; stderr:\n%s", stderr)
				}
			}
			if !failed.MatchString(stderr.String()) {
				t.Fatalf("stderr: want the refresh's error, got:\n%s", stderr)
			}
			mustContain(t, "stderr", stderr.String(), svc.namespace+"/"+svc.name, svc.name+"-0")
		})
	}
}
