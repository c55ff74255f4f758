package main

import (
	"context"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestQueryInterruptedBeforeAnAnswerFails sends SIGTERM to query, and to scrape, while
// its refresh waits on a pod that never answers: with nothing to show, it exits 1 saying
// it was cut short, one-shot (table or json) or a watch before its first frame, never a
// silent 0 that a script reads as an answer. A watch that showed a frame ends with 0:
// that is how it stops.
func TestQueryInterruptedBeforeAnAnswerFails(t *testing.T) {
	t.Parallel()
	hung, arrived := hangingHandler(t)
	svc := newTestService(t, "hung", hung)
	query := []string{"-n", svc.namespace, "query", "sum(x)", svc.name, "--port", port(svc.port), "--timeout", "50s"}
	scrape := []string{"-n", svc.namespace, "scrape", svc.name, "--port", port(svc.port), "--timeout", "50s"}
	// One at a time: each process's one request is the one arrival the case waits for.
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"one-shot", query},
		{"one-shot json", append(query, "-o", "json")},
		{"watch before its first frame", append(query, "--watch", "1h")},
		{"scrape one-shot", scrape},
		{"scrape one-shot json", append(scrape, "-o", "json")},
		{"scrape watch before its first frame", append(scrape, "--watch", "1h")},
		{"scrape watch json before its first frame", append(scrape, "--watch", "1h", "-o", "json")},
	} {
		cmd, stdout, stderr, ok := interruptOnArrival(t, tc.name, arrived, tc.args...)
		if !ok {
			continue
		}
		if got := exitStatus(cmd); got != "exit 1" || stdout.Len() != 0 {
			t.Errorf("%s: got %s and stdout %q, want exit 1 and nothing on stdout", tc.name, got, stdout.String())
		}
		if !strings.HasPrefix(stderr.String(), "Error: ") || !strings.Contains(stderr.String(), "context canceled") {
			t.Errorf("%s: stderr %q, want the error saying the query was cut short", tc.name, stderr.String())
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	healthy := newTestService(t, "interrupted", exposing(textFormat, "# TYPE x gauge\nx 1\n"))
	ch, stderr, p := watchBinary(t, "-n", healthy.namespace, "query", "sum(x)", healthy.name, "--port", port(healthy.port), "--watch", "100ms")
	mustContain(t, "first frame", nextFrame(t, ctx, ch, stderr), "Every 100ms")
	// watchBinary's cleanup interrupts it and wants exit 0; SIGTERM here does the same.
	if err := p.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
}
