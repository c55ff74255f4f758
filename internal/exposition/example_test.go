package exposition_test

import (
	"fmt"
	"strings"

	"github.com/podscrape/podscrape/internal/exposition"
)

func ExampleParser_Parse() {
	const body = `# HELP http_requests_total Requests served.
# TYPE http_requests_total counter
http_requests_total{code="200"} 1027
http_requests_total{code="500"} 3 1700000000000
# TYPE latency_seconds histogram
latency_seconds_bucket{le="0.1"} 2
latency_seconds_bucket{le="+Inf"} 3
latency_seconds_sum 0.42
latency_seconds_count 3
`
	format, err := exposition.ParseContentType("text/plain; version=0.0.4; charset=utf-8")
	if err != nil {
		fmt.Println(err)
		return
	}
	// One Interner per source, one Parser per goroutine, both reused across scrapes.
	p := exposition.NewParser(exposition.Options{Interner: exposition.NewInterner(1 << 16)})
	n, err := p.Parse(strings.NewReader(body), format, func(s *exposition.Sample) error {
		fmt.Printf("%-19s %-21s %v %v", s.Family, s.Name, s.Labels, s.Value)
		if s.HasTimestamp {
			fmt.Printf(" @%d", s.TimestampMs)
		}
		fmt.Println()
		return nil
	})
	fmt.Println(n, "samples,", err)
	// Output:
	// http_requests_total http_requests_total   [{code 200}] 1027
	// http_requests_total http_requests_total   [{code 500}] 3 @1700000000000
	// latency_seconds     latency_seconds_bucket [{le 0.1}] 2
	// latency_seconds     latency_seconds_bucket [{le +Inf}] 3
	// latency_seconds     latency_seconds_sum   [] 0.42
	// latency_seconds     latency_seconds_count [] 3
	// 6 samples, <nil>
}

func ExampleOptions_keep() {
	const body = `# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{model_name="m"} 4
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{model_name="m"} 2
# EOF
`
	// Only the family asked for is parsed beyond its name; every line still counts.
	p := exposition.NewParser(exposition.Options{
		Keep: func(name, family string) bool { return family == "vllm:num_requests_waiting" },
	})
	n, err := p.Parse(strings.NewReader(body), exposition.FormatOpenMetrics, func(s *exposition.Sample) error {
		fmt.Println(s.Name, s.Labels, s.Value)
		return nil
	})
	fmt.Println(n, "samples,", err)
	// Output:
	// vllm:num_requests_waiting [{model_name m}] 4
	// 2 samples, <nil>
}

func ExampleParseContentType() {
	for _, ct := range []string{
		"application/openmetrics-text; version=1.0.0; charset=utf-8",
		"text/plain; version=0.0.4",
		"application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited",
	} {
		f, err := exposition.ParseContentType(ct)
		fmt.Println(f, err != nil)
	}
	// Output:
	// OpenMetrics 1.0 false
	// Prometheus text 0.0.4 false
	// Format(0) true
}
