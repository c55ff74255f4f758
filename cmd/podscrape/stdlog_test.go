package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// TestUnsolicitedBytesNeverShowTheToken: a pod that sends, after its answer's
// Content-Length, the Authorization header it was sent (a debugging proxy, a broken
// server echoing its request) makes net/http write "Unsolicited response received on
// idle HTTP channel starting with ..." to the standard logger, quoting those bytes: the
// token went to stderr. The command's stderr names the line without them.
func TestUnsolicitedBytesNeverShowTheToken(t *testing.T) {
	t.Parallel()
	const token = "unsolicited-echo-token"
	const body = "# TYPE q gauge\nq 1\n"
	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		fmt.Fprintf(buf, "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n%sAuthorization: %s\r\n",
			textFormat, len(body), body, r.Header.Get("Authorization"))
		_ = buf.Flush()
		go func() { // kept open, as a server's kept-alive connection, until the client closes it
			_, _ = io.Copy(io.Discard, conn)
			conn.Close()
		}()
	})
	svc := newTestService(t, "echo", echo)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := binaryCommand(ctx, "-n", svc.namespace, "scrape", svc.name, "--port", port(svc.port),
		"--token", token, "--watch", "50ms")
	cmd.Stdout = io.Discard
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	var seen []string
	var line string
	for line == "" {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("the command ended (%v) before net/http wrote its unsolicited-response line; stderr:\n%s", cmd.Wait(), strings.Join(seen, "\n"))
			}
			seen = append(seen, l)
			if strings.Contains(l, "Unsolicited response") {
				line = l
			}
		case <-ctx.Done():
			t.Fatalf("no unsolicited-response line within a minute; stderr:\n%s", strings.Join(seen, "\n"))
		}
	}
	_ = cmd.Process.Signal(os.Interrupt)
	for l := range lines {
		seen = append(seen, l)
	}
	_ = cmd.Wait()
	if all := strings.Join(seen, "\n"); strings.Contains(all, token) {
		t.Errorf("stderr shows the token:\n%s", all)
	}
	if !strings.Contains(line, unsolicitedNotShown) {
		t.Errorf("unsolicited-response line: %q, want it to say the bytes are not shown", line)
	}
}
