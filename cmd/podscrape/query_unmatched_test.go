package main

import (
	"strings"
	"testing"
)

// TestQueryOneShotUnmatchedSelectorSaysSo: a one-shot windowed query whose selector
// matches nothing the pods expose (a mistyped name) says the query matched nothing and
// names the selector, rather than "No series yet ... Keep --watch running", which no
// window would end; a selector that matches still waits for its window.
func TestQueryOneShotUnmatchedSelectorSaysSo(t *testing.T) {
	t.Parallel()
	svc := newTestService(t, "unmatched", exposing(textFormat, "# TYPE served_total counter\nserved_total{code=\"200\"} 7\n"))
	for _, tc := range []struct {
		expr, want, not string
	}{
		{"rate(serverd_total[1m])", `No series: the query matched nothing: serverd_total matches no series the pods expose now`, "No series yet"},
		{`rate(served_total[1m]) / rate(served_total{code="500"}[1m])`,
			`No series: the query matched nothing: served_total{code="500"} matches no series`, "No series yet"},
		{"rate(served_total[1m])", "No series yet: the query reads 1m0s back", "matched nothing"},
	} {
		t.Run(tc.expr, func(t *testing.T) {
			t.Parallel()
			r := podscrape(t, "-n", svc.namespace, "query", tc.expr, svc.name, "--port", port(svc.port))
			if r.code != exitOK {
				t.Fatalf("exit: got %d, want 0; stderr:\n%s", r.code, r.stderr)
			}
			mustContain(t, "stdout", r.stdout, tc.want)
			if strings.Contains(r.stdout, tc.not) {
				t.Errorf("stdout: want no %q, got:\n%s", tc.not, r.stdout)
			}
			if out := r.stdout + r.stderr; strings.Contains(out, queryName+"/selector") || strings.Contains(out, `query "`+queryName+`"`) {
				t.Errorf("output names the internal queries:\n%s%s", r.stdout, r.stderr)
			}
		})
	}
}
