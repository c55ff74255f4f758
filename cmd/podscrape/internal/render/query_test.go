package render

import (
	"bytes"
	"cmp"
	"math"
	"strings"
	"testing"
	"time"
)

func TestSparkline(t *testing.T) {
	tests := []struct {
		in   []float64
		want string
	}{
		{[]float64{0, 1, 2, 3, 4, 5, 6, 7}, "▁▂▃▄▅▆▇█"},
		{[]float64{5, 5}, "▅▅"},
		{[]float64{1, math.NaN(), 3}, "▁ █"},
		{nil, ""},
	}
	for _, tt := range tests {
		if got := Sparkline(tt.in); got != tt.want {
			t.Errorf("Sparkline(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestQueryViewNotesAnUncoveredWindow(t *testing.T) {
	v := &QueryView{Expr: "rate(x[5m])", Backend: "b", At: time.Unix(0, 0), Window: 5 * time.Minute, History: 2 * time.Second}
	var b bytes.Buffer
	if err := WriteQuery(&b, v, FormatTable, false); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "No series yet: the query reads 5m0s back and the history covers 2s") {
		t.Errorf("got %q, want the note", b.String())
	}
	v.History = 6 * time.Minute
	b.Reset()
	_ = WriteQuery(&b, v, FormatTable, false)
	if !strings.Contains(b.String(), "No series: the query matched nothing.") {
		t.Errorf("covered window, empty result: got %q", b.String())
	}
}

// TestQueryViewNotesAnUnmatchedSelector: with the window not covered yet, a selector that
// matches nothing the pods expose says the query matched nothing, naming it, instead of
// telling the user to wait for a window that cannot fill.
func TestQueryViewNotesAnUnmatchedSelector(t *testing.T) {
	v := &QueryView{Expr: "rate(nope_total[5m])", Backend: "b", At: time.Unix(0, 0), Window: 5 * time.Minute,
		Unmatched: []string{"nope_total"}}
	var b bytes.Buffer
	if err := WriteQuery(&b, v, FormatTable, false); err != nil {
		t.Fatal(err)
	}
	want := "No series: the query matched nothing: nope_total matches no series the pods expose now"
	if !strings.Contains(b.String(), want) || strings.Contains(b.String(), "No series yet") {
		t.Errorf("got %q, want %q and no 'No series yet'", b.String(), want)
	}
}

// TestQueryViewRateOverOneScrapeSaysItOnce: the pod source reports a rate over one scrape
// both as a partial window and as an estimate's warning; nothing was estimated, so the
// table shows the window's line and not "estimated over the span held". With a selector
// that matches nothing, neither: waiting will not fill the window.
func TestQueryViewRateOverOneScrapeSaysItOnce(t *testing.T) {
	const what = "rate over 1m0s reaches before the history's oldest scrape (0s held)"
	v := &QueryView{Expr: "rate(x[1m])", Backend: "b", At: time.Unix(0, 0), Window: time.Minute,
		Partial:  []PartialWindow{{Text: what + ": partial window"}},
		Warnings: []string{what + ": estimated over the span held", "an engine warning"}}
	var b bytes.Buffer
	if err := WriteQuery(&b, v, FormatTable, false); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if strings.Contains(out, "estimated over the span held") || !strings.Contains(out, "Partial window (keep --watch running): "+what) ||
		!strings.Contains(out, "Warning: an engine warning") {
		t.Errorf("got %q, want the partial window once, no estimate warning, the engine's warning kept", out)
	}

	v.Expr, v.Unmatched = "rate(nope_total[1m])", []string{"nope_total"}
	b.Reset()
	_ = WriteQuery(&b, v, FormatTable, false)
	out = b.String()
	if !strings.Contains(out, "matches no series") || strings.Contains(out, "keep --watch running") || strings.Contains(out, "estimated over the span held") {
		t.Errorf("unmatched: got %q, want the matched-nothing line without the window's notes", out)
	}
}

func TestWriteComparison(t *testing.T) {
	var b bytes.Buffer
	rows := []ComparisonRow{
		{Query: "queue_length", Series: "vllm-0", Direct: 3, DirectOK: true, DirectAge: 200 * time.Millisecond,
			Prometheus: 3, PrometheusOK: true, PrometheusAge: 1500 * time.Millisecond, Trend: []float64{1, 2}},
		{Query: "queue_length", Series: "vllm-3", Prometheus: 1, PrometheusOK: true, PrometheusAge: time.Second},
	}
	if err := WriteComparison(&b, "title", rows, []string{"note"}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"title\n", "QUERY", "queue_length  vllm-0  3          200ms  ▁▅█    3           1.5s", "vllm-3  -", "note\n"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("missing %q in:\n%s", want, b.String())
		}
	}
}

// TestQueryTablePrintsValuesWithoutFloatNoise pins how the query table writes values:
// 15 significant digits, so arithmetic's last-bit noise does not show, while json keeps
// the exact value (as Prometheus' API does).
func TestQueryTablePrintsValuesWithoutFloatNoise(t *testing.T) {
	tenth := 0.1 // a variable: constant arithmetic is exact
	for _, tc := range []struct {
		v    float64
		want string
	}{
		{0.07500000000000001, "0.075"},
		{tenth * 3, "0.3"},
		{1e6, "1000000"},
		{123456.789, "123456.789"},
		{1.5e-7, "1.5e-07"},
		{2e21, "2e+21"},
		{math.NaN(), "NaN"},
		{math.Inf(-1), "-Inf"},
	} {
		v := &QueryView{Expr: "x", Backend: "b", At: time.Unix(0, 0), Series: []QuerySeries{{Labels: map[string]string{"pod": "p"}, Value: tc.v}}}
		var b bytes.Buffer
		if err := WriteQuery(&b, v, FormatTable, false); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), "\n"+tc.want+"  ") {
			t.Errorf("value %v: got\n%s\nwant the row to start with %q", tc.v, b.String(), tc.want)
		}
	}
	noisy := 0.07500000000000001
	v := &QueryView{Series: []QuerySeries{{Value: noisy}}}
	var b bytes.Buffer
	if err := WriteQuery(&b, v, FormatJSON, false); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `"value": "0.07500000000000001"`) {
		t.Errorf("json: got %s, want the exact value", b.String())
	}
}

// TestQueryViewSaysNoReadyPods: zero pods scraped is said instead of a note about the
// series, and above series that come from the history or the expression alone; an
// unknown count (a Prometheus server) says nothing and is left out of the json.
func TestQueryViewSaysNoReadyPods(t *testing.T) {
	zero, two := 0, 2
	const line = "No ready pods behind service ns/svc.\n"
	for _, tc := range []struct {
		name      string
		pods      *int
		series    []QuerySeries
		want, not string
		json      string
	}{
		{"no pods, no series", &zero, nil, line, "No series", `"podsScraped":0`},
		{"no pods, series", &zero, []QuerySeries{{Value: 1}}, line + "VALUE", "No series", `"podsScraped":0`},
		{"pods", &two, nil, "No series: the query matched nothing.", "No ready pods", `"podsScraped":2`},
		{"unknown", nil, nil, "No series: the query matched nothing.", "No ready pods", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := &QueryView{Expr: "sum(x)", Backend: "b", Service: "ns/svc", At: time.Unix(0, 0),
				PodsScraped: tc.pods, Series: tc.series}
			var b bytes.Buffer
			if err := WriteQuery(&b, v, FormatTable, false); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(b.String(), tc.want) || strings.Contains(b.String(), tc.not) {
				t.Errorf("table: got %q, want %q and no %q", b.String(), tc.want, tc.not)
			}
			b.Reset()
			if err := WriteQuery(&b, v, FormatJSON, true); err != nil {
				t.Fatal(err)
			}
			if (tc.json == "" && strings.Contains(b.String(), "podsScraped")) || !strings.Contains(b.String(), tc.json) {
				t.Errorf("json: got %s, want %s", b.String(), cmp.Or(tc.json, "no podsScraped"))
			}
		})
	}
}

// TestQueryViewOffsetBeforeTheHistorySaysWhatItNeeds: a one-shot `sum(x offset 1m)` is
// empty because no sample is that far back yet, not for want of two samples in a window:
// the note says what the offset needs, as its Partial window line does, and leaves out
// rate(), which the query does not call. A rate with an offset still needs two samples.
func TestQueryViewOffsetBeforeTheHistorySaysWhatItNeeds(t *testing.T) {
	const offset = "offset 1m0s reaches before the history's oldest scrape (0s held): partial window"
	for _, tc := range []struct {
		expr    string
		partial []PartialWindow
		want    string
		not     string
	}{
		{"sum(x offset 1m)", []PartialWindow{{Text: offset, Offset: true}},
			"No series yet: the query reads 1m0s back and the history covers 0s; an offset needs a sample that far back.", "rate()"},
		{"rate(x[1m] offset 1m)", []PartialWindow{{Text: offset, Offset: true}, {Text: "rate over 1m0s ...: partial window"}},
			"rate() and friends need two samples in the window", "an offset needs"},
	} {
		v := &QueryView{Expr: tc.expr, Backend: "b", At: time.Unix(0, 0), Window: time.Minute, Partial: tc.partial}
		var b bytes.Buffer
		if err := WriteQuery(&b, v, FormatTable, false); err != nil {
			t.Fatal(err)
		}
		if out := b.String(); !strings.Contains(out, tc.want) || strings.Contains(out, tc.not) {
			t.Errorf("%s: got %q, want %q and no %q", tc.expr, out, tc.want, tc.not)
		}
	}
}
