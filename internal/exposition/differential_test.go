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
// canonical lines: name, labels sorted by name, value, timestamp. Label values are
// compared as Prometheus stores them: textparse's as they come, expfmt's le and
// quantile (floats in its protobufs) formatted as Prometheus formats them from a
// protobuf scrape.

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

// canonical formats one sample for comparison.
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
		fmt.Fprintf(&b, "%q=%q", l.Name, l.Value)
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
	formatFloat := labels.FormatOpenMetricsFloat // as Prometheus' protobuf parser writes le and quantile
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
	out, err := textparseParse(data, f)
	if err != nil {
		t.Fatalf("textparse: %v", err)
	}
	return out
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

// TestDifferentialStrictness: what OpenMetrics forbids and textparse rejects, this
// parser rejects too (TestParseErrors has the messages), and the forms textparse accepts
// give the samples it gives.
func TestDifferentialStrictness(t *testing.T) {
	for _, tc := range []struct {
		name   string
		format Format
		input  string
		ok     bool
	}{
		{"unit not a suffix", FormatOpenMetrics, "# UNIT a_seconds second\na_seconds 1\n# EOF\n", false},
		{"unit without underscore", FormatOpenMetrics, "# UNIT aseconds seconds\n# EOF\n", false},
		{"unit is the name", FormatOpenMetrics, "# UNIT seconds seconds\n# EOF\n", false},
		{"unit a suffix", FormatOpenMetrics, "# UNIT a_seconds seconds\na_seconds 1\n# EOF\n", true},
		{"empty unit", FormatOpenMetrics, "# UNIT a \na 1\n# EOF\n", true},
		{"HELP without text", FormatOpenMetrics, "# HELP a\na 1\n# EOF\n", false},
		{"HELP with empty text", FormatOpenMetrics, "# HELP a \na 1\n# EOF\n", true},
		{"TYPE without text", FormatOpenMetrics, "# TYPE a\na 1\n# EOF\n", false},
		{"TYPE with empty text", FormatOpenMetrics, "# TYPE a \na 1\n# EOF\n", false},
		{"UNIT without text", FormatOpenMetrics, "# UNIT a_s\na_s 1\n# EOF\n", false},
		{"HELP without name", FormatOpenMetrics, "# HELP\n# EOF\n", false},
		{"HELP without name, blank", FormatOpenMetrics, "# HELP \n# EOF\n", false},
		{"blank after EOF", FormatOpenMetrics, "a 1\n# EOF \n", false},
		{"text after EOF", FormatOpenMetrics, "a 1\n# EOF x\n", false},
		{"EOF without newline", FormatOpenMetrics, "a 1\n# EOF", true},
		{"quoted name after a label", FormatOpenMetrics, "{b=\"c\",\"a\"} 1\n# EOF\n", true},
		{"quoted name between labels", FormatOpenMetrics, "{\"x\"=\"y\",\"a.b\",c=\"d\"} 1\n# EOF\n", true},
		{"two quoted names", FormatOpenMetrics, "{\"a\",\"b\"} 1\n# EOF\n", false},
		{"text: quoted name after a label", FormatText, "{b=\"c\",\"a\"} 1\n", true},
		{"text: quoted name between labels", FormatText, "{\"x\"=\"y\",\"a.b\",c=\"d\"} 1\n", true},
		{"text: bare and quoted name", FormatText, "a{\"b\"} 1\n", false},
		{"text: no name", FormatText, "{b=\"c\"} 1\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := []byte(tc.input)
			theirs, theirErr := textparseParse(data, tc.format)
			if (theirErr == nil) != tc.ok {
				t.Fatalf("textparse: got error %v, want ok: %t (the case is wrong)", theirErr, tc.ok)
			}
			ours, err := collect(t, NewParser(Options{}), data, tc.format)
			if (err == nil) != tc.ok {
				t.Fatalf("got error %v, want ok: %t (textparse: %v)", err, tc.ok, theirErr)
			}
			if tc.ok {
				compareSamples(t, canonicalAll(ours), theirs)
			}
		})
	}
}

// textparseParse is textparseSamples returning textparse's error.
func textparseParse(data []byte, f Format) (out []string, err error) {
	var p textparse.Parser
	if f == FormatOpenMetrics {
		p = textparse.NewOpenMetricsParser(data, labels.NewSymbolTable())
	} else {
		p = textparse.NewPromParser(data, labels.NewSymbolTable(), false)
	}
	var lset labels.Labels
	for {
		entry, err := p.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
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

// scrapeLoopStores is what a Prometheus v0.316 server's scrape loop stores from data served
// with f's Content-Type (scrape/scrape.go, scrapeLoopAppender.append), target labels
// aside: an empty body is an empty scrape, before any parser is chosen; textparse.New
// picks the parser; each series' labels are as mutateSampleLabels leaves them
// (labels.Builder drops a label with an empty value); a missing name, an invalid name
// and a label name given twice (the TSDB's check) fail the scrape; the first sample of a
// label set is kept, a repeat dropped, but for a repeat whose timestamp is later than
// the latest stored sample's of its series (the TSDB appends it in order: laterRepeats
// counts them; a sample without a timestamp is taken at the scrape's time, later than
// any exposed); a timestamp textparse converted from beyond int64 milliseconds
// (math.MinInt64 on amd64) is refused by the TSDB as out of bounds, that sample alone,
// and its series is not seen.
func scrapeLoopStores(data []byte, f Format) (_ []string, laterRepeats int, _ error) {
	if len(data) == 0 {
		return nil, 0, nil
	}
	ct := "text/plain; version=0.0.4; charset=utf-8"
	if f == FormatOpenMetrics {
		ct = "application/openmetrics-text; version=1.0.0; charset=utf-8"
	}
	p, err := textparse.New(slices.Clone(data), ct, labels.NewSymbolTable(), textparse.ParserOptions{})
	if err != nil {
		return nil, 0, err
	}
	var out []string
	latest := map[string]int64{} // by series: the timestamp of its latest stored sample
	const scrapeTime = math.MaxInt64
	var lset labels.Labels
	for {
		entry, err := p.Next()
		if errors.Is(err, io.EOF) {
			return out, laterRepeats, nil
		}
		if err != nil {
			return nil, 0, err
		}
		if entry != textparse.EntrySeries {
			continue
		}
		_, ts, v := p.Series()
		p.Labels(&lset)
		lset = labels.NewBuilder(lset).Labels()
		switch _, dup := lset.HasDuplicateLabelNames(); {
		case !lset.Has(labels.MetricName):
			return nil, 0, errors.New("missing metric name")
		case !lset.IsValid(model.UTF8Validation):
			return nil, 0, fmt.Errorf("invalid metric name or label names: %s", lset)
		case dup:
			return nil, 0, fmt.Errorf("label names not unique: %s", lset)
		case ts != nil && *ts == math.MinInt64:
			continue
		}
		var ls []Label
		lset.Range(func(l labels.Label) {
			if l.Name != labels.MetricName {
				ls = append(ls, Label{Name: l.Name, Value: l.Value})
			}
		})
		name := lset.Get(labels.MetricName)
		t := int64(scrapeTime)
		if ts != nil {
			t = *ts
		}
		key := canonical(name, ls, 0, nil)
		last, repeat := latest[key]
		if repeat && (ts == nil || t <= last) {
			continue
		}
		if repeat {
			laterRepeats++
		}
		latest[key] = t
		out = append(out, canonical(name, ls, v, ts))
	}
}

// ourStores is what podscrape stores from data: Parse's samples with their empty label
// values dropped (as ScrapeSeries gives them), kept as a store keeps them: the first
// sample of a label set, and a later one only with a later timestamp of its own (the
// scrape's time, for a sample without one, after any of its own, as in
// scrapeLoopStores).
func ourStores(data []byte, f Format) ([]string, error) {
	var out []string
	latest := map[string]int64{}
	const scrapeTime = math.MaxInt64
	p := NewParser(Options{})
	p.SetScrapeTime(scrapeTime)
	_, err := p.Parse(bytes.NewReader(data), f, func(s *Sample) error {
		var ls []Label
		for _, l := range s.Labels {
			if l.Value != "" {
				ls = append(ls, l)
			}
		}
		t := int64(scrapeTime)
		if s.HasTimestamp {
			t = s.TimestampMs
		}
		key := canonical(s.Name, ls, 0, nil)
		if last, seen := latest[key]; seen && (!s.HasTimestamp || t <= last) {
			return nil
		}
		latest[key] = t
		c := *s
		c.Labels = ls
		out = append(out, canonicalOf(c))
		return nil
	})
	return out, err
}
