package llmd_test

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// fixture reads a file of the repository's testdata/.
func fixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// scaled returns body with every counter, histogram and summary sample multiplied by
// factor and the gauges as they are: the same pod later, having done factor-1 times as
// much again, so a rate over two such bodies is the first body's values and a ratio of
// rates the first body's ratio.
func scaled(body string, factor float64) string {
	var out strings.Builder
	types := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(body))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if f := strings.Fields(line); len(f) >= 4 && f[0] == "#" && f[1] == "TYPE" {
			types[f[2]] = f[3]
		}
		if line == "" || line[0] == '#' {
			out.WriteString(line + "\n")
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		name := line[:strings.IndexAny(line, "{ ")]
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err == nil && cumulative(types, name) {
			line = line[:i+1] + strconv.FormatFloat(factor*v, 'g', -1, 64)
		}
		out.WriteString(line + "\n")
	}
	return out.String()
}

func cumulative(types map[string]string, name string) bool {
	for _, suffix := range []string{"", "_total", "_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok {
			switch types[base] {
			case "counter", "histogram", "summary":
				return true
			}
		}
	}
	return types[name] == "counter"
}

// families parses an exposition in the text format.
func families(t *testing.T, body string) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return fams
}

// total sums the samples of a family (or of a histogram's _sum / _count: name with that
// suffix) whose labels include match.
func total(fams map[string]*dto.MetricFamily, name string, match map[string]string) float64 {
	base, part := name, ""
	for _, suffix := range []string{"_sum", "_count"} {
		if b, ok := strings.CutSuffix(name, suffix); ok && fams[name] == nil {
			base, part = b, suffix
		}
	}
	f := fams[base]
	if f == nil {
		return 0
	}
	sum := 0.0
	for _, m := range f.GetMetric() {
		if !matches(m, match) {
			continue
		}
		switch {
		case m.Histogram != nil && part == "_sum":
			sum += m.Histogram.GetSampleSum()
		case m.Histogram != nil && part == "_count":
			sum += float64(m.Histogram.GetSampleCount())
		case m.Counter != nil:
			sum += m.Counter.GetValue()
		case m.Gauge != nil:
			sum += m.Gauge.GetValue()
		case m.Untyped != nil:
			sum += m.Untyped.GetValue()
		}
	}
	return sum
}

func matches(m *dto.Metric, match map[string]string) bool {
	for k, want := range match {
		got := ""
		for _, l := range m.GetLabel() {
			if l.GetName() == k {
				got = l.GetValue()
			}
		}
		if got != want {
			return false
		}
	}
	return true
}

func TestScaled(t *testing.T) {
	in := "# TYPE c counter\nc_total{a=\"1\"} 3\n# TYPE g gauge\ng 4\n# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 5\nh_count 2\n"
	want := "# TYPE c counter\nc_total{a=\"1\"} 6\n# TYPE g gauge\ng 4\n# TYPE h histogram\nh_bucket{le=\"+Inf\"} 4\nh_sum 10\nh_count 4\n"
	if got := scaled(in, 2); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}
