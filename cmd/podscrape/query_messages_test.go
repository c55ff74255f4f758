package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestQueryMessagesNameWhatTheUserGave runs podscrape query with the mistakes a new user
// makes: each message speaks of the user's flags and arguments, never of the name the
// CLI registers its query under, and is printed once.
func TestQueryMessagesNameWhatTheUserGave(t *testing.T) {
	t.Parallel()
	closed := closedPort(t)
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"missing param", []string{"query", `x{model_name="{{.modelID}}"}`, llmd.VLLMService, "--port", "8000"}, exitUsage,
			`Error: parameter "modelID" is missing: pass --param modelID=...` + "\n"},
		{"missing params", []string{"query", `x{a="{{.a}}", b="{{ .b }}", c="{{.a}}"}`, llmd.VLLMService, "--port", "8000"}, exitUsage,
			`Error: parameters ["a" "b"] are missing: pass --param a=... --param b=...` + "\n"},
		{"bad param value", []string{"query", `x[{{.w}}]`, llmd.VLLMService, "--port", "8000", "--param", "w=5m:1m"}, exitUsage,
			`Error: parameter "w": `},
		{"URL without a scheme", []string{"query", "up", "--prometheus", "127.0.0.1:9090"}, exitUsage,
			`Error: --prometheus "127.0.0.1:9090": the URL needs http:// or https://`},
		{"URL without a host", []string{"query", "up", "--prometheus", "http://"}, exitUsage,
			`Error: --prometheus "http://": the URL needs http:// or https:// and a host`},
		{"empty URL (an unset variable)", []string{"query", "up", "--prometheus", "", "--port", "8000"}, exitUsage,
			`Error: --prometheus "": the URL needs http:// or https:// and a host`},
		{"token file missing", []string{"query", "up", "--prometheus", "http://127.0.0.1:9090", "--prometheus-token-file", "/nonexistent/token"}, exitUsage,
			`Error: --prometheus-token-file: bearer token file: open /nonexistent/token: no such file or directory`},
		{"unreachable server", []string{"query", "up", "--prometheus", "http://" + closed, "--timeout", "300ms"}, exitRuntime,
			"Error: query on Prometheus at http://" + closed + ": "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := podscrape(t, tc.args...)
			if r.code != tc.code {
				t.Fatalf("exit: got %d, want %d; stderr:\n%s", r.code, tc.code, r.stderr)
			}
			mustContain(t, "stderr", r.stderr, tc.want)
			if strings.Contains(r.stderr, `query "query"`) || strings.Contains(r.stderr, "first path segment") {
				t.Errorf("stderr leaks an internal name or Go's URL parser: %s", r.stderr)
			}
			if r.stdout != "" {
				t.Errorf("stdout: got %q, want nothing (the error goes to stderr once)", r.stdout)
			}
			if n := strings.Count(r.stderr, "Error:"); n != 1 {
				t.Errorf("stderr: %d errors, want 1:\n%s", n, r.stderr)
			}
		})
	}
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// TestAllPodsFailedListsEachPodOnItsOwnLine: when every pod fails, the error gives each
// pod's error on an indented line of its own, as kubectl-style tools render a joined
// error, and no continuation line starts at the margin.
func TestAllPodsFailedListsEachPodOnItsOwnLine(t *testing.T) {
	t.Parallel()
	closed := closedPort(t)
	_, p, _ := net.SplitHostPort(closed)
	r := podscrape(t, "scrape", llmd.VLLMService, "--port", p, "--timeout", "2s")
	if r.code != exitRuntime {
		t.Fatalf("exit: got %d, want %d; stderr:\n%s", r.code, exitRuntime, r.stderr)
	}
	lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
	if !strings.HasPrefix(lines[0], "Error: ") || !strings.HasSuffix(lines[0], "pods):") {
		t.Fatalf("first line: got %q, want the error ending at the colon that lists the pods", lines[0])
	}
	if got, want := len(lines)-1, len(llmd.VLLMPods); got != want {
		t.Fatalf("pod lines: got %d, want one per Ready pod (%d):\n%s", got, want, r.stderr)
	}
	for _, l := range lines[1:] {
		if !strings.HasPrefix(l, "  scrape pod ") {
			t.Errorf("line %q: want an indented pod error", l)
		}
	}
}

// TestQueryOneShotWindowsSayWhy: a one-shot query holds one scrape, so a window reaches
// before it. An estimate over the window (max_over_time) answers with a Warning line
// naming the window; a sum over it says the window is partial: its values a lower bound
// (sum_over_time), or, with no series (increase needs two samples), only that; an offset
// that no sample is held for yet says so, a lower bound of nothing. None is a failure,
// and no message names the CLI's internal query.
func TestQueryOneShotWindowsSayWhy(t *testing.T) {
	t.Parallel()
	svc := newTestService(t, "windows", exposing(textFormat, "# TYPE served_total counter\nserved_total 7\n# TYPE queue gauge\nqueue 3\n"))
	const offsetLine = "Partial window (no sample that far back yet; keep --watch running): offset 1m0s reaches before the history's oldest scrape (0s held)"
	for _, tc := range []struct {
		expr string
		want []string
		not  string
	}{
		{"max_over_time(queue[1m])", []string{"\n3  ", "Warning: max_over_time over 1m0s reaches before the history's oldest scrape"}, "Partial window"},
		{"sum_over_time(queue[1m])", []string{"\n3  ",
			"Partial window (the values are a lower bound; keep --watch running): sum_over_time over 1m0s reaches before the history's oldest scrape"}, "Warning"},
		{"increase(served_total[1m])", []string{"No series yet: the query reads 1m0s back",
			"Partial window (keep --watch running): increase over 1m0s reaches before the history's oldest scrape"}, "lower bound"},
		{"sum(queue offset 1m)", []string{offsetLine}, "lower bound"},
		{"queue or queue offset 1m", []string{"\n3  ", offsetLine}, "lower bound"},
	} {
		t.Run(tc.expr, func(t *testing.T) {
			t.Parallel()
			r := podscrape(t, "-n", svc.namespace, "query", tc.expr, svc.name, "--port", port(svc.port))
			if r.code != exitOK {
				t.Fatalf("exit: got %d, want 0; stderr:\n%s", r.code, r.stderr)
			}
			mustContain(t, "stdout", r.stdout, tc.want...)
			if strings.Contains(r.stdout, tc.not) || strings.Contains(r.stdout, "offset over") {
				t.Errorf("stdout: want no %q nor \"offset over\", got:\n%s", tc.not, r.stdout)
			}
			if strings.Contains(r.stdout+r.stderr, `query "query"`) {
				t.Errorf("output names the internal query:\n%s%s", r.stdout, r.stderr)
			}
		})
	}
}

// TestQueryEveryPodFailedNamesEachPod: a query whose every pod failed exits 1 with an
// error that names each pod and why, one per line as scrape's does, in table form as in
// json (whose document lists them in podsDown too), not only "every ready pod failed".
func TestQueryEveryPodFailedNamesEachPod(t *testing.T) {
	t.Parallel()
	_, p, _ := net.SplitHostPort(closedPort(t))
	for _, format := range []string{"table", "json"} {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			r := podscrape(t, "query", "sum(vllm:num_requests_waiting)", llmd.VLLMService, "--port", p, "--timeout", "2s", "-o", format)
			if r.code != exitRuntime {
				t.Fatalf("exit: got %d, want %d; stderr:\n%s", r.code, exitRuntime, r.stderr)
			}
			lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
			if !strings.HasPrefix(lines[0], "Error: ") || !strings.Contains(lines[0], "every ready pod failed to scrape") {
				t.Fatalf("stderr's first line: got %q, want the error saying every pod failed", lines[0])
			}
			if got, want := len(lines)-1, len(llmd.VLLMPods); got != want {
				t.Fatalf("stderr: %d pod lines, want one per Ready pod (%d):\n%s", got, want, r.stderr)
			}
			for i, pod := range llmd.VLLMPods {
				mustContain(t, "stderr line", lines[i+1], "  scrape pod "+llmd.Namespace+"/"+pod+" ", "connection refused")
			}
			if format == "table" && r.stdout != "" {
				t.Errorf("stdout: got %q, want nothing (the error says it all, once)", r.stdout)
			}
			if format == "json" {
				mustContain(t, "json", r.stdout, `"podsDown"`, llmd.VLLMPods[0]+": scrape pod", llmd.VLLMPods[1]+": scrape pod")
			}
		})
	}
}

// TestQueryServerRefusalNamesNoInternalQuery: with --prometheus, a server that answers
// with an error (a 401 of a proxy, the 422 of a window podscrape serve does not hold)
// is reported with its message and the URL that answered, and, as every other message
// of query, without the name the CLI registers its query under: `query "query" (...) at
// http://...` leaked it, since only the form without a URL was taken out. One-shot,
// -o json and --watch alike.
func TestQueryServerRefusalNamesNoInternalQuery(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "" {
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnprocessableEntity)
		_, _ = io.WriteString(w, `{"status":"error","errorType":"execution","error":"partial window: increase would answer less than the truth"}`)
	}))
	t.Cleanup(srv.Close)
	token := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(token, []byte("t0ken"), 0o600); err != nil {
		t.Fatal(err)
	}
	const expr = "sum(increase(x[10m]))"
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"401", []string{"query", expr, "--prometheus", srv.URL}, "Unauthorized"},
		{"422", []string{"query", expr, "--prometheus", srv.URL, "--prometheus-token-file", token}, "partial window: increase would answer less than the truth"},
		{"422 json", []string{"query", expr, "--prometheus", srv.URL, "--prometheus-token-file", token, "-o", "json"}, "partial window: increase would answer less than the truth"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := podscrape(t, tc.args...)
			if r.code != exitRuntime {
				t.Fatalf("exit: got %d, want %d; stderr:\n%s", r.code, exitRuntime, r.stderr)
			}
			mustContain(t, "stderr", r.stderr, "Error: query on Prometheus at "+srv.URL+": "+srv.URL+"/api/v1/query: ", tc.want)
			if out := r.stdout + r.stderr; strings.Contains(out, `query "`+queryName+`"`) {
				t.Errorf("output names the internal query:\n%s%s", r.stdout, r.stderr)
			}
		})
	}
	t.Run("watch", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		ch, stderr, _ := watchBinaryFrames(t, "Every ", "query", expr, "--prometheus", srv.URL, "--watch", "50ms")
		frame := nextFrame(t, ctx, ch, stderr)
		mustContain(t, "the watch's frame", frame, "Error: "+srv.URL+"/api/v1/query: ", "Unauthorized")
		if strings.Contains(frame, `query "query"`) {
			t.Errorf("the watch's frame names the internal query:\n%s", frame)
		}
	})
}
