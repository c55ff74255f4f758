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
	// Only the family asked for is built; every line is still checked and counted.
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

func ExampleOptions_metadata() {
	const body = `# HELP http_requests Requests served.
# TYPE http_requests counter
http_requests_total{code="200"} 1027
http_requests_created{code="200"} 1.7e+09
# TYPE latency_seconds histogram
# UNIT latency_seconds seconds
latency_seconds_bucket{le="1"} 2
latency_seconds_bucket{le="+Inf"} 3
# EOF
`
	// Metadata comes before the family's samples; le is stored as Prometheus stores it,
	// and _created is a series of its own family.
	p := exposition.NewParser(exposition.Options{
		Metadata: func(m exposition.Metadata) {
			fmt.Printf("# %s %s %q %q\n", m.Family, m.Type, m.Help, m.Unit)
		},
	})
	_, err := p.Parse(strings.NewReader(body), exposition.FormatOpenMetrics, func(s *exposition.Sample) error {
		fmt.Println(s.Family, s.Name, s.Labels, s.Value)
		return nil
	})
	fmt.Println(err)
	// Output:
	// # http_requests counter "Requests served." ""
	// http_requests http_requests_total [{code 200}] 1027
	// http_requests_created http_requests_created [{code 200}] 1.7e+09
	// # latency_seconds histogram "" "seconds"
	// latency_seconds latency_seconds_bucket [{le 1.0}] 2
	// latency_seconds latency_seconds_bucket [{le +Inf}] 3
	// <nil>
}

func ExampleParser_Duplicates() {
	// A repeated series keeps its first sample; the repeat is dropped and counted.
	p := exposition.NewParser(exposition.Options{})
	n, err := p.Parse(strings.NewReader("queue{model=\"a\"} 4\nqueue{model=\"a\"} 5\n"), exposition.FormatText,
		func(s *exposition.Sample) error {
			fmt.Println(s.Name, s.Labels, s.Value)
			return nil
		})
	fmt.Println(n, "samples,", p.Duplicates(), "dropped,", err)
	// Output:
	// queue [{model a}] 4
	// 2 samples, 1 dropped, <nil>
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
