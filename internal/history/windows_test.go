package history

import (
	"slices"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql/parser"
)

func TestReads(t *testing.T) {
	m := time.Minute
	at100 := time.Unix(100, 0).UTC()
	for _, tc := range []struct {
		expr string
		want []Read
	}{
		{`x`, []Read{{Metric: "x"}}},
		{`x offset 5m`, []Read{{Metric: "x", Reach: 5 * m, Sums: true}}},
		{`{__name__=~"x.*"}`, []Read{{}}},
		{`increase(x[10m])`, []Read{{Metric: "x", Func: "increase", Range: 10 * m, Reach: 10 * m, Sums: true}}},
		{`sum(increase(x{a="b"}[10m]))`, []Read{{Metric: "x", Func: "increase", Range: 10 * m, Reach: 10 * m, Sums: true}}},
		{`rate(x[5m] offset 5m)`, []Read{{Metric: "x", Func: "rate", Range: 5 * m, Reach: 10 * m}}},
		{`x[5m]`, []Read{{Metric: "x", Range: 5 * m, Reach: 5 * m}}},
		{`(x[5m])`, []Read{{Metric: "x", Range: 5 * m, Reach: 5 * m}}},
		{`changes(x[1m]) / resets(y[2m])`, []Read{
			{Metric: "x", Func: "changes", Range: m, Reach: m, Sums: true},
			{Metric: "y", Func: "resets", Range: 2 * m, Reach: 2 * m, Sums: true},
		}},
		{`max_over_time(x[10m:1m])`, []Read{{Metric: "x", Func: "max_over_time", Range: 10 * m, Reach: 10 * m}}},
		{`sum_over_time(rate(x[1m])[10m:1m] offset 2m)`, []Read{
			{Metric: "x", Func: "sum_over_time", Range: 10 * m, Reach: 12 * m, Sums: true},
			{Metric: "x", Func: "rate", Range: m, Reach: 13 * m},
		}},
		{`max_over_time((increase(x[1m]))[5m:])`, []Read{
			{Metric: "x", Func: "max_over_time", Range: 5 * m, Reach: 5 * m},
			{Metric: "x", Func: "increase", Range: m, Reach: 6 * m, Sums: true},
		}},
		{`x[5m:1m]`, []Read{{Metric: "x", Range: 5 * m, Reach: 5 * m}}},
		{`increase(x[10m] @ 100)`, []Read{{Metric: "x", Func: "increase", Range: 10 * m, Reach: 10 * m, Sums: true, Pinned: true, At: at100}}},
		{`increase(x[10m] @ end() offset 1m)`, []Read{{Metric: "x", Func: "increase", Range: 10 * m, Reach: 11 * m, Sums: true, Pinned: true, StartOrEnd: parser.END}}},
		{`x @ 100`, []Read{{Metric: "x", Sums: true, Pinned: true, At: at100}}},
		{`x @ start()`, []Read{{Metric: "x", Sums: true, Pinned: true, StartOrEnd: parser.START}}},
		// A subquery's @ pins the windows inside it, with their offsets.
		{`max_over_time(rate(x[5m] offset 1m)[10m:1m] @ 100)`, []Read{
			{Metric: "x", Func: "max_over_time", Range: 10 * m, Reach: 11 * m, Pinned: true, At: at100},
			{Metric: "x", Func: "rate", Range: 5 * m, Reach: 16 * m, Pinned: true, At: at100},
		}},
		// The windows outside the innermost @ read the same samples at every step.
		{`sum_over_time(increase(x[1m] @ 100)[10m:1m] offset 5m)`, []Read{
			{Metric: "x", Func: "increase", Range: m, Reach: m, Sums: true, Pinned: true, At: at100},
		}},
		{`sum_over_time((x @ 100)[10m:1m])`, []Read{{Metric: "x", Sums: true, Pinned: true, At: at100}}},
		{`sum_over_time(x[1m] @ end())[10m:1m] @ 100`, []Read{
			{Metric: "x", Func: "sum_over_time", Range: m, Reach: m, Sums: true, Pinned: true, StartOrEnd: parser.END},
		}},
		{`quantile_over_time(0.9, x[5m])`, []Read{{Metric: "x", Func: "quantile_over_time", Range: 5 * m, Reach: 5 * m}}},
		{`absent_over_time(x[5m])`, []Read{{Metric: "x", Func: "absent_over_time", Range: 5 * m, Reach: 5 * m, Sums: true}}},
		{`vector(1)`, nil},
	} {
		got, err := Reads(tc.expr)
		if err != nil {
			t.Errorf("Reads(%s): %v", tc.expr, err)
			continue
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("Reads(%s):\n got %+v\nwant %+v", tc.expr, got, tc.want)
		}
	}
}

func TestReadsParseError(t *testing.T) {
	if _, err := Reads(`rate(x[5m]`); err == nil {
		t.Error("Reads of an unclosed call: got no error, want the parser's")
	}
}
