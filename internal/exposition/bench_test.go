package exposition

import (
	"bytes"
	"errors"
	"io"
	"math"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/textparse"
)

// BenchmarkParse measures, for each fixture, what source/pod needs from an exposition:
// one map per sample holding __name__ and the labels (MetricValue.Labels), built by
//
//   - ours:        this Parser with a warm Interner (the steady state of a scraper);
//   - ours-parse:  the same without building maps, the parser's own cost;
//   - expfmt:      expfmt's TextParser (OpenMetrics: its Decoder) into MetricFamily
//     protobufs, expanded into one map per sample line;
//   - textparse:   Prometheus' model/textparse with labels.Labels, copied into a map.
//
// Besides ns/op, B/op, allocs/op and MB/s it reports ns/sample, B/sample and
// allocs/sample. Run with:
//
//	go test ./internal/exposition/ -run '^$' -bench BenchmarkParse -benchtime 1s -count 3 -cpu 2
func BenchmarkParse(b *testing.B) {
	for _, path := range append(slices.Clone(textInputs[:3]), openMetricsInputs[:2]...) {
		f := FormatText
		if slices.Contains(openMetricsInputs, path) {
			f = FormatOpenMetrics
		}
		data := readFile(b, path)
		samples, err := NewParser(Options{}).Parse(bytes.NewReader(data), f, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(filepath.Base(path), func(b *testing.B) {
			for _, bench := range []struct {
				name string
				new  func(data []byte, f Format) func() (samples int, err error)
			}{
				{"ours", oursToMaps},
				{"ours-parse", oursParseOnly},
				{"expfmt", expfmtToMaps},
				{"textparse", textparseToMaps},
			} {
				b.Run(bench.name, func(b *testing.B) {
					run := bench.new(data, f)
					if _, err := run(); err != nil {
						// expfmt's OpenMetrics decoder rejects both real OpenMetrics
						// fixtures (metadata after samples, a negative histogram sum).
						b.Skipf("%s cannot parse %s: %v", bench.name, filepath.Base(path), err)
					}
					benchPipeline(b, data, samples, run)
				})
			}
		})
	}
}

// BenchmarkParseOneMetric compares parsing the vLLM fixture into maps for every sample
// with parsing it for one metric (the pruning a refresh that asks only for metric-name
// queries gets). Run with:
//
//	go test ./internal/exposition/ -run '^$' -bench BenchmarkParseOneMetric -benchmem
func BenchmarkParseOneMetric(b *testing.B) {
	data := readFile(b, filepath.Join("..", "..", "testdata", "vllm-sim-metrics.txt"))
	one := func(name, family string) bool {
		return name == "vllm:num_requests_waiting" || family == "vllm:num_requests_waiting"
	}
	for _, bench := range []struct {
		name string
		keep func(name, family string) bool
	}{{"all", nil}, {"one", one}} {
		b.Run(bench.name, func(b *testing.B) {
			run := oursToMapsKeeping(data, FormatText, bench.keep)
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := run(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// benchPipeline runs one pipeline and reports its cost per sample.
func benchPipeline(b *testing.B, data []byte, samples int, run func() (int, error)) {
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	// Start from a collected heap, so that garbage left by the previous benchmark does
	// not land on this one's clock.
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for b.Loop() {
		n, err := run()
		if err != nil || n != samples {
			b.Fatalf("got %d samples, %v; want %d", n, err, samples)
		}
	}
	runtime.ReadMemStats(&after)
	total := float64(b.N) * float64(samples)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/total, "ns/sample")
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/total, "B/sample")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/total, "allocs/sample")
}

func oursToMaps(data []byte, f Format) func() (int, error) {
	return oursToMapsKeeping(data, f, nil)
}

// oursToMapsKeeping is oursToMaps with a Keep filter: what a refresh asking only for
// metric-name queries parses.
func oursToMapsKeeping(data []byte, f Format, keep func(name, family string) bool) func() (int, error) {
	p := NewParser(Options{Interner: NewInterner(1 << 16), Keep: keep})
	r := bytes.NewReader(data)
	var maps []map[string]string // kept, as a scraper's cache keeps them
	emit := func(s *Sample) error {
		m := make(map[string]string, len(s.Labels)+1)
		m[model.MetricNameLabel] = s.Name
		for _, l := range s.Labels {
			m[l.Name] = l.Value
		}
		maps = append(maps, m)
		return nil
	}
	run := func() (int, error) {
		maps = maps[:0]
		r.Reset(data)
		return p.Parse(r, f, emit)
	}
	_, _ = run() // warm the Interner and the Parser's buffers
	return run
}

func oursParseOnly(data []byte, f Format) func() (int, error) {
	p := NewParser(Options{Interner: NewInterner(1 << 16)})
	r := bytes.NewReader(data)
	var sum float64
	emit := func(s *Sample) error {
		sum += s.Value
		return nil
	}
	run := func() (int, error) {
		r.Reset(data)
		return p.Parse(r, f, emit)
	}
	_, _ = run()
	return run
}

func expfmtToMaps(data []byte, f Format) func() (int, error) {
	var maps []map[string]string
	expand := func(mf *dto.MetricFamily) {
		expandFamily(mf, f == FormatOpenMetrics, func(m map[string]string) { maps = append(maps, m) })
	}
	if f == FormatOpenMetrics {
		return func() (int, error) {
			maps = maps[:0]
			d := expfmt.NewDecoder(bytes.NewReader(data), expfmt.FmtOpenMetrics_1_0_0)
			for {
				var mf dto.MetricFamily
				if err := d.Decode(&mf); errors.Is(err, io.EOF) {
					return len(maps), nil
				} else if err != nil {
					return 0, err
				}
				expand(&mf)
			}
		}
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	return func() (int, error) {
		maps = maps[:0]
		mfs, err := p.TextToMetricFamilies(bytes.NewReader(data))
		if err != nil {
			return 0, err
		}
		for _, mf := range mfs {
			expand(mf)
		}
		return len(maps), nil
	}
}

// expandFamily yields one map per sample line of a MetricFamily, as exposed.
func expandFamily(mf *dto.MetricFamily, om bool, yield func(map[string]string)) {
	name := mf.GetName()
	for _, m := range mf.GetMetric() {
		sample := func(name string, extra ...string) {
			lm := make(map[string]string, len(m.GetLabel())+1+len(extra)/2)
			lm[model.MetricNameLabel] = name
			for _, lp := range m.GetLabel() {
				lm[lp.GetName()] = lp.GetValue()
			}
			for i := 0; i < len(extra); i += 2 {
				lm[extra[i]] = extra[i+1]
			}
			yield(lm)
		}
		formatFloat := func(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }
		switch mf.GetType() {
		case dto.MetricType_COUNTER:
			if om {
				sample(name + "_total")
				if m.GetCounter().GetCreatedTimestamp() != nil {
					sample(name + "_created")
				}
			} else {
				sample(name)
			}
		case dto.MetricType_GAUGE, dto.MetricType_UNTYPED:
			sample(name)
		case dto.MetricType_SUMMARY:
			s := m.GetSummary()
			for _, q := range s.GetQuantile() {
				sample(name, model.QuantileLabel, formatFloat(q.GetQuantile()))
			}
			sample(name + "_sum")
			sample(name + "_count")
			if s.GetCreatedTimestamp() != nil {
				sample(name + "_created")
			}
		case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
			h := m.GetHistogram()
			for _, bk := range h.GetBucket() {
				sample(name+"_bucket", model.BucketLabel, formatFloat(bk.GetUpperBound()))
			}
			if om && !slices.ContainsFunc(h.GetBucket(), func(bk *dto.Bucket) bool { return math.IsInf(bk.GetUpperBound(), 1) }) {
				sample(name+"_bucket", model.BucketLabel, "+Inf") // the decoder folds it into the count
			}
			sample(name + "_sum")
			sample(name + "_count")
			if h.GetCreatedTimestamp() != nil {
				sample(name + "_created")
			}
		}
	}
}

func textparseToMaps(data []byte, f Format) func() (int, error) {
	var maps []map[string]string
	st := labels.NewSymbolTable()
	return func() (int, error) {
		maps = maps[:0]
		var p textparse.Parser
		if f == FormatOpenMetrics {
			p = textparse.NewOpenMetricsParser(data, st)
		} else {
			p = textparse.NewPromParser(data, st, false)
		}
		var lset labels.Labels
		for {
			entry, err := p.Next()
			if errors.Is(err, io.EOF) {
				return len(maps), nil
			}
			if err != nil {
				return 0, err
			}
			if entry != textparse.EntrySeries {
				continue
			}
			_, _, _ = p.Series()
			p.Labels(&lset)
			m := make(map[string]string, lset.Len())
			lset.Range(func(l labels.Label) { m[l.Name] = l.Value })
			maps = append(maps, m)
		}
	}
}

// BenchmarkInternerParallel measures lookups of held strings by concurrent Parsers.
//
//	go test ./internal/exposition/ -run '^$' -bench BenchmarkInternerParallel -cpu 1,2
func BenchmarkInternerParallel(b *testing.B) {
	keys := make([][]byte, 1000)
	in := NewInterner(len(keys))
	for i := range keys {
		keys[i] = strconv.AppendInt([]byte("label_value_"), int64(i), 10)
		in.Intern(keys[i])
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			in.Intern(keys[i%len(keys)])
			i++
		}
	})
}
