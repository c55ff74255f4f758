package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// watchBinary starts the built binary's watch with args and returns its frames; the
// test's cleanup ends it with Ctrl-C and checks that it exits 0.
func watchBinary(t *testing.T, args ...string) (<-chan string, *bytes.Buffer, *os.Process) {
	t.Helper()
	return watchBinaryFrames(t, "Every ", args...)
}

// watchBinaryFrames is watchBinary for frames whose first line starts with header: "{"
// makes each json document a frame.
func watchBinaryFrames(t *testing.T, header string, args ...string) (<-chan string, *bytes.Buffer, *os.Process) {
	t.Helper()
	// Its own deadline: the process must outlive the test function, to the cleanup.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	cmd := binaryCommand(ctx, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &bytes.Buffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ch := frames(stdout, header)
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		for range ch { // read to the end, so the command is never blocked writing
		}
		if err := cmd.Wait(); err != nil {
			t.Errorf("Ctrl-C: got %s, want exit 0; stderr:\n%s", exitStatus(cmd), stderr.String())
		}
	})
	return ch, stderr, cmd.Process
}

// TestWatchFirstFrameHasNoSummary: the first frame has nothing to compare with, so it
// says nothing of changes; the next ones do.
func TestWatchFirstFrameHasNoSummary(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ch, stderr, _ := watchBinary(t, "scrape", llmd.VLLMService, "--port", port(llmd.VLLMPort),
		"--metric", "vllm:num_requests_running", "--watch", "20ms")
	first := nextFrame(t, ctx, ch, stderr)
	mustContain(t, "first frame", first, "Every 20ms: podscrape scrape vllm -n llm-d", "2 of 2 pods up", "CHANGE")
	if strings.Contains(first, "Since the last refresh") {
		t.Fatalf("first frame: want no summary of changes, got:\n%s", first)
	}
	second := nextFrame(t, ctx, ch, stderr)
	if !regexp.MustCompile(`(?m)^Since the last refresh \([^)]+\): \d+ changed, \d+ new, \d+ gone\.$`).MatchString(second) {
		t.Fatalf("second frame: want a summary of changes, got:\n%s", second)
	}
}

// TestWatchListsAPodThatAppearsFailingAsDown: during a watch, a pod that appears
// already failing is listed under "pods down", one that appears healthy under "pods
// added".
func TestWatchListsAPodThatAppearsFailingAsDown(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const body = "# HELP m A gauge.\n# TYPE m gauge\nm 1\n"
	svc := newTestService(t, "appears", exposing(textFormat, body))
	ch, stderr, _ := watchBinary(t, "-n", svc.namespace, "scrape", svc.name, "--port", port(svc.port), "--watch", "20ms")
	mustContain(t, "first frame", nextFrame(t, ctx, ch, stderr), "1 of 1 pods up")

	failing, healthy := svc.name+"-failing", svc.name+"-healthy"
	svc.addPod(t, failing, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "broken", http.StatusInternalServerError)
	}))
	svc.addPod(t, healthy, exposing(textFormat, body))

	listed := regexp.MustCompile(`pods (added|down|up|gone): ([^;.]+)`)
	got := map[string]string{} // pod -> the first list it appeared in
	for got[failing] == "" || got[healthy] == "" {
		frame := nextFrame(t, ctx, ch, stderr)
		for _, m := range listed.FindAllStringSubmatch(frame, -1) {
			for _, p := range strings.Split(m[2], ", ") {
				if got[p] == "" {
					got[p] = m[1]
				}
			}
		}
	}
	if got[failing] != "down" || got[healthy] != "added" {
		t.Fatalf("got %s listed as %q and %s as %q, want down and added", failing, got[failing], healthy, got[healthy])
	}
}

// TestWatchOutlivesASIGPIPENotOfItsStdout: SIGPIPE also comes from a connection to a pod
// closed under a write; only a failed write to stdout ends the command, so a watch whose
// stdout is read goes on.
func TestWatchOutlivesASIGPIPENotOfItsStdout(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ch, stderr, p := watchBinary(t, "scrape", llmd.VLLMService, "--port", port(llmd.VLLMPort),
		"--metric", "vllm:num_requests_running", "--watch", "20ms")
	nextFrame(t, ctx, ch, stderr)
	if err := p.Signal(syscall.SIGPIPE); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		mustContain(t, "frame after SIGPIPE", nextFrame(t, ctx, ch, stderr), "2 of 2 pods up")
	}
}

// TestWatchJSONSaysWhenARefreshFails deletes the Service of a scrape --watch -o json: each
// refresh that finds nothing to scrape writes a document with the service, the time and
// the error, rather than nothing, which a program reading the stream would take as the
// last document still being current; once the Service is back, documents without error
// follow. A one-shot scrape whose every pod failed says so in its document too.
func TestWatchJSONSaysWhenARefreshFails(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	svc := newTestService(t, "jsongone", exposing(textFormat, "# TYPE q gauge\nq 7\n"))
	ch, stderr, _ := watchBinaryFrames(t, "{", "-n", svc.namespace, "scrape", svc.name, "--port", port(svc.port), "-o", "json", "--watch", "50ms")
	next := func() jsonDoc {
		t.Helper()
		docs := decodeJSON(t, nextFrame(t, ctx, ch, stderr))
		if len(docs) != 1 {
			t.Fatalf("frame: got %d documents, want 1", len(docs))
		}
		return docs[0]
	}
	service := svc.namespace + "/" + svc.name
	if d := next(); d.Error != "" || len(d.upPods()) != 1 {
		t.Fatalf("first document: got error %q and pods up %v, want none and the one pod", d.Error, d.upPods())
	}

	deleted := time.Now()
	s := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: svc.namespace, Name: svc.name}}
	if err := cp.Client.Delete(ctx, s); err != nil {
		t.Fatal(err)
	}
	for {
		d := next()
		if d.Error == "" {
			continue // refreshed before the deletion reached it
		}
		if d.Service != service || !strings.Contains(d.Error, service+" not found") || len(d.Pods) != 0 || len(d.Samples) != 0 {
			t.Fatalf("document of a failed refresh: got %+v, want service %s, no pods or samples, and the error saying it is not found", d, service)
		}
		if d.CollectedAt.Before(deleted.Add(-time.Second)) {
			t.Fatalf("document of a failed refresh: collectedAt %s, want the refresh's time (the deletion was at %s)", d.CollectedAt, deleted)
		}
		break
	}

	if err := cp.CreateService(ctx, svc.namespace, svc.name, svc.selector, svc.port); err != nil {
		t.Fatal(err)
	}
	for d := next(); d.Error != ""; d = next() {
	}

	_, p, _ := net.SplitHostPort(closedPort(t))
	r := podscrape(t, "scrape", llmd.VLLMService, "--port", p, "--timeout", "2s", "-o", "json")
	if docs := decodeJSON(t, r.stdout); r.code != exitRuntime || len(docs) != 1 || !strings.Contains(docs[0].Error, "every ready pod failed to scrape") {
		t.Errorf("one-shot, every pod failed: got exit %d and %s, want 1 and a document whose error says so", r.code, r.stdout)
	}
}

// TestWatchSaysWhichPodsLeftWithTheLast: on the refresh where the last Ready pod leaves
// (a scale to zero), the frame says there are no ready pods and, in its summary, which
// pod is gone and how many series went with it.
func TestWatchSaysWhichPodsLeftWithTheLast(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	svc := newTestService(t, "tozero", exposing(textFormat, "# TYPE q gauge\nq 7\n"))
	ch, stderr, _ := watchBinary(t, "-n", svc.namespace, "scrape", svc.name, "--port", port(svc.port), "--watch", "50ms")
	mustContain(t, "first frame", nextFrame(t, ctx, ch, stderr), "1 of 1 pods up")

	var pod corev1.Pod
	if err := cp.Client.Get(ctx, client.ObjectKey{Namespace: svc.namespace, Name: svc.name + "-0"}, &pod); err != nil {
		t.Fatal(err)
	}
	if err := cp.SetPodStatus(ctx, &pod, pod.Status.PodIP, false); err != nil {
		t.Fatal(err)
	}
	for {
		frame := nextFrame(t, ctx, ch, stderr)
		if !strings.Contains(frame, "No ready pods") {
			continue // refreshed before the pod's status reached it
		}
		mustContain(t, "frame the pod left", frame, "Since the last refresh", "0 changed, 0 new, 1 gone; pods gone: "+svc.name+"-0.")
		return
	}
}
