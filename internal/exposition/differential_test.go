package exposition

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/textparse"
)

// The differential tests parse the same expositions with this package and with the
// parsers Prometheus uses, and require the same samples, compared as sets of
// canonical lines: name, labels sorted by name, value, timestamp.

func TestDifferentialText(t *testing.T) {
	for _, path := range textInputs {
		t.Run(filepath.Base(path), func(t *testing.T) {
			data := readFile(t, path)
			ours := ourSamples(t, data, FormatText)
			t.Run("expfmt", func(t *testing.T) {
				compareSamples(t, ours, expfmtSamples(t, data))
			})
			t.Run("textparse", func(t *testing.T) {
				compareSamples(t, ours, textparseSamples(t, data, FormatText))
			})
		})
	}
}

func TestDifferentialOpenMetrics(t *testing.T) {
	for _, path := range openMetricsInputs {
		t.Run(filepath.Base(path), func(t *testing.T) {
			data := readFile(t, path)
			compareSamples(t, ourSamples(t, data, FormatOpenMetrics), textparseSamples(t, data, FormatOpenMetrics))
		})
	}
}

// TestDifferentialNoFinalNewline: a last line without '\n' is a sample, as textparse has
// it (expfmt rejects it, and is not compared).
func TestDifferentialNoFinalNewline(t *testing.T) {
	data := []byte("# TYPE a counter\na{b=\"c\"} 1\nlast{x=\"y\"} 2 1700000000000")
	compareSamples(t, ourSamples(t, data, FormatText), textparseSamples(t, data, FormatText))
}

var (
	textInputs = []string{
		"../../testdata/epp-metrics.txt",
		"../../testdata/vllm-sim-metrics.txt",
		"../../testdata/prometheus-server-metrics.prom.txt",
		"testdata/text-edge-cases.txt",
	}
	openMetricsInputs = []string{
		"../../testdata/prometheus-server-metrics.om.txt",
		"../../testdata/openmetrics-example.txt",
		"testdata/om-edge-cases.txt",
	}
)

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// canonical formats one sample for comparison. The values of le and quantile labels are
// normalised as floats: expfmt keeps them as floats and textparse reformats them.
func canonical(name string, ls []Label, value float64, ts *int64) string {
	ls = slices.Clone(ls)
	slices.SortFunc(ls, func(a, b Label) int { return strings.Compare(a.Name, b.Name) })
	var b strings.Builder
	b.WriteString(strconv.Quote(name))
	b.WriteByte('{')
	for i, l := range ls {
		if i > 0 {
			b.WriteByte(',')
		}
		v := l.Value
		if l.Name == "le" || l.Name == "quantile" {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				v = strconv.FormatFloat(f, 'g', -1, 64)
			}
		}
		fmt.Fprintf(&b, "%q=%q", l.Name, v)
	}
	b.WriteString("} ")
	if math.IsNaN(value) {
		b.WriteString("NaN") // any NaN: textparse makes them all one NaN
	} else {
		b.WriteString(strconv.FormatFloat(value, 'g', -1, 64))
	}
	if ts != nil {
		fmt.Fprintf(&b, " @%d", *ts)
	}
	return b.String()
}

func ourSamples(t testing.TB, data []byte, f Format) []string {
	t.Helper()
	var out []string
	n, err := NewParser(Options{Interner: NewInterner(1 << 16)}).Parse(bytes.NewReader(data), f, func(s *Sample) error {
		var ts *int64
		if s.HasTimestamp {
			ts = &s.TimestampMs
		}
		out = append(out, canonical(s.Name, s.Labels, s.Value, ts))
		return nil
	})
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if n != len(out) {
		t.Fatalf("Parse counted %d samples, emitted %d", n, len(out))
	}
	return out
}

// expfmtSamples parses with expfmt and expands its MetricFamilies into one sample per
// line of the exposition.
func expfmtSamples(t testing.TB, data []byte) []string {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("expfmt: %v", err)
	}
	var out []string
	for name, mf := range mfs {
		for _, m := range mf.GetMetric() {
			out = append(out, expandMetric(name, mf.GetType(), m)...)
		}
	}
	return out
}

func expandMetric(name string, typ dto.MetricType, m *dto.Metric) []string {
	ls := make([]Label, 0, len(m.GetLabel())+1)
	for _, lp := range m.GetLabel() {
		ls = append(ls, Label{Name: lp.GetName(), Value: lp.GetValue()})
	}
	ts := m.TimestampMs
	with := func(name, value string) []Label {
		return append(slices.Clone(ls), Label{Name: name, Value: value})
	}
	formatFloat := func(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }
	var out []string
	switch typ {
	case dto.MetricType_COUNTER:
		out = append(out, canonical(name, ls, m.GetCounter().GetValue(), ts))
	case dto.MetricType_GAUGE:
		out = append(out, canonical(name, ls, m.GetGauge().GetValue(), ts))
	case dto.MetricType_UNTYPED:
		out = append(out, canonical(name, ls, m.GetUntyped().GetValue(), ts))
	case dto.MetricType_SUMMARY:
		s := m.GetSummary()
		for _, q := range s.GetQuantile() {
			out = append(out, canonical(name, with("quantile", formatFloat(q.GetQuantile())), q.GetValue(), ts))
		}
		if s.SampleSum != nil {
			out = append(out, canonical(name+"_sum", ls, s.GetSampleSum(), ts))
		}
		if s.SampleCount != nil {
			out = append(out, canonical(name+"_count", ls, float64(s.GetSampleCount()), ts))
		}
	case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
		h := m.GetHistogram()
		for _, b := range h.GetBucket() {
			count := float64(b.GetCumulativeCount())
			if b.CumulativeCountFloat != nil {
				count = b.GetCumulativeCountFloat()
			}
			out = append(out, canonical(name+"_bucket", with("le", formatFloat(b.GetUpperBound())), count, ts))
		}
		if h.SampleSum != nil {
			out = append(out, canonical(name+"_sum", ls, h.GetSampleSum(), ts))
		}
		switch {
		case h.SampleCountFloat != nil:
			out = append(out, canonical(name+"_count", ls, h.GetSampleCountFloat(), ts))
		case h.SampleCount != nil:
			out = append(out, canonical(name+"_count", ls, float64(h.GetSampleCount()), ts))
		}
	}
	return out
}

// textparseSamples parses with Prometheus' own scrape parsers.
func textparseSamples(t testing.TB, data []byte, f Format) []string {
	t.Helper()
	var p textparse.Parser
	if f == FormatOpenMetrics {
		p = textparse.NewOpenMetricsParser(data, labels.NewSymbolTable())
	} else {
		p = textparse.NewPromParser(data, labels.NewSymbolTable(), false)
	}
	var out []string
	var lset labels.Labels
	for {
		entry, err := p.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("textparse: %v", err)
		}
		if entry != textparse.EntrySeries {
			continue
		}
		_, ts, v := p.Series()
		p.Labels(&lset)
		var ls []Label
		lset.Range(func(l labels.Label) {
			if l.Name != labels.MetricName {
				ls = append(ls, Label{Name: l.Name, Value: l.Value})
			}
		})
		out = append(out, canonical(lset.Get(labels.MetricName), ls, v, ts))
	}
}

// compareSamples requires got and want to hold the same samples, repeats included.
func compareSamples(t *testing.T, got, want []string) {
	t.Helper()
	count := make(map[string]int)
	for _, s := range got {
		count[s]++
	}
	for _, s := range want {
		count[s]--
	}
	var extra, missing []string
	for s, n := range count {
		for ; n > 0; n-- {
			extra = append(extra, s)
		}
		for ; n < 0; n++ {
			missing = append(missing, s)
		}
	}
	slices.Sort(extra)
	slices.Sort(missing)
	if len(extra) > 0 || len(missing) > 0 {
		t.Errorf("got %d samples, want %d; %d only in ours (first: %q), %d only in theirs (first: %q)",
			len(got), len(want), len(extra), first(extra, 5), len(missing), first(missing, 5))
	}
	if len(got) == 0 {
		t.Error("got no samples")
	}
}

func first(s []string, n int) []string { return s[:min(n, len(s))] }
