package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"

	"github.com/podscrape/podscrape/internal/exposition"
)

// compliantText is an exposition that `promtool check metrics` passes: a counter, a
// gauge, a histogram and a summary, with HELP text to escape.
const compliantText = `# HELP http_requests_total Requests served.
# TYPE http_requests_total counter
http_requests_total{code="200"} 7
http_requests_total{code="500"} 1
# HELP queue_size Requests waiting, "quoted", with a \\ backslash\nand two lines.
# TYPE queue_size gauge
queue_size 3
# HELP latency_seconds Request latency.
# TYPE latency_seconds histogram
latency_seconds_bucket{le="0.1"} 1
latency_seconds_bucket{le="1"} 2
latency_seconds_bucket{le="+Inf"} 2
latency_seconds_sum 0.3
latency_seconds_count 2
# HELP rpc_duration_seconds RPC latency.
# TYPE rpc_duration_seconds summary
rpc_duration_seconds{quantile="0.5"} 0.1
rpc_duration_seconds{quantile="0.9"} 0.2
rpc_duration_seconds_sum 1
rpc_duration_seconds_count 4
`

// compliantOpenMetrics is the same families as OpenMetrics 1.0 writes them: counter
// family http_requests with http_requests_total and _created samples, a unit.
const compliantOpenMetrics = `# TYPE http_requests counter
# HELP http_requests Requests served.
http_requests_total{code="200"} 7
http_requests_created{code="200"} 1.7e+09
http_requests_total{code="500"} 1
http_requests_created{code="500"} 1.7e+09
# TYPE queue_size gauge
# HELP queue_size Requests waiting, \"quoted\", with a \\ backslash\nand two lines.
queue_size 3
# TYPE latency_seconds histogram
# UNIT latency_seconds seconds
# HELP latency_seconds Request latency.
latency_seconds_bucket{le="0.1"} 1
latency_seconds_bucket{le="1"} 2
latency_seconds_bucket{le="+Inf"} 2
latency_seconds_sum 0.3
latency_seconds_count 2
# TYPE rpc_duration_seconds summary
# HELP rpc_duration_seconds RPC latency.
rpc_duration_seconds{quantile="0.5"} 0.1
rpc_duration_seconds{quantile="0.9"} 0.2
rpc_duration_seconds_sum 1
rpc_duration_seconds_count 4
# EOF
`

// lintProblems is what `promtool check metrics` reports on text (it runs promlint with
// its default validations), as "metric: problem".
func lintProblems(t *testing.T, text string) []string {
	t.Helper()
	problems, err := promlint.New(strings.NewReader(text)).Lint()
	if err != nil {
		t.Fatalf("promlint: %v\n%s", err, text)
	}
	var out []string
	for _, p := range problems {
		out = append(out, p.Metric+": "+p.Text)
	}
	return out
}

// TestPromOutputPassesPromtoolLint scrapes compliant pods, one speaking the text format
// and one OpenMetrics, with the built binary: -o prom keeps their HELP and TYPE, so that
// `promtool check metrics` (promlint, its default lint) finds nothing, and the output
// reads back with the project's parser.
func TestPromOutputPassesPromtoolLint(t *testing.T) {
	t.Parallel()
	if problems := lintProblems(t, compliantText); len(problems) != 0 {
		t.Fatalf("the pods' exposition: got lint problems %q, want none (else this test proves nothing)", problems)
	}
	svc := newTestService(t, "compliant", exposing(textFormat, compliantText), exposing(openMetrics, compliantOpenMetrics))
	r := runBinary(t, "-n", svc.namespace, "scrape", svc.name, "--port", port(svc.port), "-o", "prom")
	if r.code != 0 {
		t.Fatalf("exit: got %d, want 0; stderr:\n%s", r.code, r.stderr)
	}
	if problems := lintProblems(t, r.stdout); len(problems) != 0 {
		t.Fatalf("promtool check metrics on -o prom: got %d problems %q, want none:\n%s", len(problems), problems, r.stdout)
	}
	mustContain(t, "-o prom", r.stdout,
		"# HELP http_requests_total Requests served.\n# TYPE http_requests_total counter\n",
		"# HELP queue_size Requests waiting, \"quoted\", with a \\\\ backslash\\nand two lines.\n# TYPE queue_size gauge\n",
		"# TYPE latency_seconds histogram\n", "# TYPE rpc_duration_seconds summary\n",
		"# TYPE up gauge\n", `up{pod="`+svc.name+`-1"} 1`)

	var samples int
	_, err := exposition.NewParser(exposition.Options{}).Parse(strings.NewReader(r.stdout), exposition.FormatText,
		func(*exposition.Sample) error { samples++; return nil })
	if err != nil {
		t.Fatalf("the project's parser on -o prom: %v", err)
	}
	// Each pod: 2 + 1 + 5 + 4 samples (the OpenMetrics pod's _created series, should the
	// scraper keep them, come on top), and up, scrape_duration_seconds, scrape_samples_scraped.
	if min := 2 * (12 + 3); samples < min {
		t.Fatalf("samples: got %d, want at least %d", samples, min)
	}
	// Status last, as docs/cli.md says.
	var families []string
	for line := range strings.Lines(r.stdout) {
		if rest, ok := strings.CutPrefix(line, "# TYPE "); ok {
			families = append(families, strings.Fields(rest)[0])
		}
	}
	if tail := families[len(families)-3:]; !slices.Equal(tail, []string{"up", "scrape_duration_seconds", "scrape_samples_scraped"}) {
		t.Fatalf("families: got %q, want up, scrape_duration_seconds and scrape_samples_scraped last", families)
	}
	if r.stderr != "" {
		t.Fatalf("stderr: got %q, want nothing", r.stderr)
	}
}
