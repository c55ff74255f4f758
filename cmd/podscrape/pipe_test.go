package main

import (
	"bufio"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestClosedStdoutExitsQuietly closes the built binary's stdout after its first line, as
// "| head -1" does: podscrape (scrape and query) stops, says nothing, and exits 141, the
// status a shell reports for git or kubectl killed by SIGPIPE there.
func TestClosedStdoutExitsQuietly(t *testing.T) {
	t.Parallel()
	var big strings.Builder
	big.WriteString("# HELP big_gauge A gauge with many series.\n# TYPE big_gauge gauge\n")
	for i := range 40000 {
		fmt.Fprintf(&big, "big_gauge{series=\"%06d\"} %d\n", i, i)
	}
	// 40,000 rows of table: megabytes, more than any pipe holds, so the command is still
	// writing when the reader goes away.
	svc := newTestService(t, "big", exposing(textFormat, big.String()))
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"one scrape", []string{"-n", svc.namespace, "scrape", svc.name, "--port", port(svc.port)}},
		{"watch", []string{"scrape", llmd.VLLMService, "--port", port(llmd.VLLMPort), "-o", "json", "--watch", "10ms"}},
		// query writes its frames with io.WriteString.
		{"query watch", []string{"query", "sum(vllm:num_requests_waiting)", llmd.VLLMService, "--port", port(llmd.VLLMPort), "--watch", "10ms"}},
		{"query json watch", []string{"query", "sum(vllm:num_requests_waiting)", llmd.VLLMService, "--port", port(llmd.VLLMPort), "-o", "json", "--watch", "10ms"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cmd := binaryCommand(ctx, tc.args...)
			stdout, stderr := startPiped(t, cmd)
			if _, err := bufio.NewReader(stdout).ReadString('\n'); err != nil {
				t.Fatalf("first line: %v; stderr:\n%s", err, stderr.String())
			}
			_ = stdout.Close()
			_ = cmd.Wait()
			if ctx.Err() != nil {
				t.Fatalf("podscrape did not stop before the deadline; stderr:\n%s", stderr.String())
			}
			if got := exitStatus(cmd); got != "exit 141" || stderr.Len() != 0 {
				t.Fatalf("got %s and stderr %q, want exit 141 and nothing on stderr", got, stderr.String())
			}
		})
	}
}
