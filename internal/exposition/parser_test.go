package exposition

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
)

// collect parses data and returns the samples with their Labels copied.
func collect(t testing.TB, p *Parser, data []byte, f Format) ([]Sample, error) {
	t.Helper()
	var out []Sample
	n, err := p.Parse(bytes.NewReader(data), f, func(s *Sample) error {
		c := *s
		c.Labels = slices.Clone(s.Labels)
		out = append(out, c)
		return nil
	})
	if err == nil && n-p.Duplicates()-p.OutOfBounds() != len(out) && p.opts.Keep == nil {
		t.Fatalf("Parse returned %d samples with %d repeats and %d out of bounds, emitted %d", n, p.Duplicates(), p.OutOfBounds(), len(out))
	}
	return out, err
}

// format renders a sample as family/name{labels} value [@timestamp] for comparisons.
func format(s Sample) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s/%s{", s.Family, s.Name)
	for i, l := range s.Labels {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s=%q", l.Name, l.Value)
	}
	b.WriteString("} ")
	b.WriteString(strconv.FormatFloat(s.Value, 'g', -1, 64))
	if s.HasTimestamp {
		fmt.Fprintf(&b, " @%d", s.TimestampMs)
	}
	return b.String()
}

func TestParseFixtures(t *testing.T) {
	for _, tc := range []struct {
		file     string
		format   Format
		samples  int
		families int // distinct # TYPE names, plus one per OpenMetrics _created series name
		spot     []string
	}{
		{
			file: "epp-metrics.txt", format: FormatText, samples: 745, families: 186,
			spot: []string{
				`workqueue_work_duration_seconds/workqueue_work_duration_seconds_bucket{controller="pod",name="pod",le="+Inf"} 1`,
				`go_gc_duration_seconds/go_gc_duration_seconds{quantile="0.25"} 6.1455e-05`,
				`go_gc_duration_seconds/go_gc_duration_seconds_count{} 14`,
			},
		},
		{
			file: "vllm-sim-metrics.txt", format: FormatText, samples: 253, families: 22,
			spot: []string{
				`vllm:cache_config_info/vllm:cache_config_info{block_size="8",num_gpu_blocks="64"} 1`,
				`vllm:e2e_request_latency_seconds/vllm:e2e_request_latency_seconds_bucket{model_name="fake-model",le="0.5"} 3`,
				`vllm:e2e_request_latency_seconds/vllm:e2e_request_latency_seconds_sum{model_name="fake-model"} 5.726374466999999`,
				`vllm:num_requests_running/vllm:num_requests_running{model_name="fake-model"} 2`,
			},
		},
		{
			file: "prometheus-server-metrics.prom.txt", format: FormatText, samples: 1857, families: 237,
			spot: []string{
				`go_gc_duration_seconds/go_gc_duration_seconds{quantile="0.25"} 0.00010188`,
				`go_gc_duration_seconds/go_gc_duration_seconds_count{} 190932`,
				`prometheus_http_request_duration_seconds/prometheus_http_request_duration_seconds_bucket{handler="/api/v1/query",le="0.1"} 3051`,
			},
		},
		{
			// go_memstats_alloc_bytes is typed twice: gauge, then counter; 160 _created names.
			file: "prometheus-server-metrics.om.txt", format: FormatOpenMetrics, samples: 2531, families: 424,
			spot: []string{
				`go_gc_cycles_automatic_gc_cycles/go_gc_cycles_automatic_gc_cycles_total{} 591688`,
				`go_gc_cycles_automatic_gc_cycles_created/go_gc_cycles_automatic_gc_cycles_created{} 1.78461504058e+09`,
				`go_gc_duration_seconds/go_gc_duration_seconds{quantile="0.25"} 0.000150125`,
				`prometheus_http_request_duration_seconds/prometheus_http_request_duration_seconds_bucket{handler="/api/v1/query",le="0.1"} 723046`,
			},
		},
		{
			file: "openmetrics-example.txt", format: FormatOpenMetrics, samples: 53, families: 9,
			spot: []string{
				`go_build_info/go_build_info{checksum="",path="",version=""} 1`,
				`promhttp_metric_handler_errors_created/promhttp_metric_handler_errors_created{cause="encoding"} 1.726839813016397e+09`,
				// The exemplar after the value is dropped, with its timestamp.
				`rpc_durations_histogram_seconds/rpc_durations_histogram_seconds_bucket{le="-0.0002899999999999998"} 3`,
				`rpc_durations_seconds/rpc_durations_seconds{service="normal",quantile="0.9"} 0.0002935723711788224`,
				`rpc_requests/rpc_requests_total{service="uniform"} 11`,
			},
		},
	} {
		t.Run(tc.file, func(t *testing.T) {
			data := readFile(t, "../../testdata/"+tc.file)
			samples, err := collect(t, NewParser(Options{}), data, tc.format)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if len(samples) != tc.samples {
				t.Errorf("got %d samples, want %d", len(samples), tc.samples)
			}
			all := make(map[string]bool, len(samples))
			families := make(map[string]bool)
			for _, s := range samples {
				all[format(s)] = true
				families[s.Family] = true
				if s.HasTimestamp {
					t.Errorf("%s: got a timestamp, the fixture has none", format(s))
				}
			}
			if len(families) != tc.families {
				t.Errorf("got %d families, want %d", len(families), tc.families)
			}
			for _, want := range tc.spot {
				if !all[want] {
					t.Errorf("missing sample %s", want)
				}
			}
		})
	}
}

func TestParseSemantics(t *testing.T) {
	for _, tc := range []struct {
		name   string
		format Format
		input  string
		want   []string
	}{
		{
			name: "text families", format: FormatText,
			input: "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 2\nh_count 3\nh_total 4\nh 5\n" +
				"# HELP s help\n# TYPE s summary\ns{quantile=\"0.5\"} 1\ns_sum 2\ns_count 3\ns_bucket 4\n" +
				"# TYPE c_total counter\nc_total 1\n# TYPE g gauge\ng_sum 1\nfree 2\n",
			want: []string{
				`h/h_bucket{le="1.0"} 1`, `h/h_sum{} 2`, `h/h_count{} 3`, `h_total/h_total{} 4`, `h/h{} 5`,
				`s/s{quantile="0.5"} 1`, `s/s_sum{} 2`, `s/s_count{} 3`, `s_bucket/s_bucket{} 4`,
				`c_total/c_total{} 1`, `g_sum/g_sum{} 1`, `free/free{} 2`,
			},
		},
		{
			// A family named again has the type its # TYPE gave it, as Prometheus' scrape
			// cache keeps it (isSeriesPartOfFamily takes x_sum for x's).
			name: "help alone names a family; a family named again keeps its type", format: FormatText,
			input: "# TYPE x histogram\n# HELP y help\ny_sum 1\ny 2\n# HELP x back\nx_sum 3\n",
			want:  []string{`y_sum/y_sum{} 1`, `y/y{} 2`, `x/x_sum{} 3`},
		},
		{
			name: "text types in any case, gauge histograms", format: FormatText,
			input: "# TYPE a GAUGE\na 1\n# TYPE b GaugeHistogram\nb_bucket{le=\"+Inf\"} 2\nb_sum 3\n# TYPE c untyped\nc 4\n",
			want:  []string{`a/a{} 1`, `b/b_bucket{le="+Inf"} 2`, `b/b_sum{} 3`, `c/c{} 4`},
		},
		{
			name: "openmetrics families", format: FormatOpenMetrics,
			input: "# TYPE c counter\nc_total 1\nc_created 2\n# TYPE i info\ni_info{v=\"1\"} 1\n" +
				"# TYPE gh gaugehistogram\ngh_bucket{le=\"+Inf\"} 1\ngh_gcount 1\ngh_gsum 1\ngh_sum 1\n" +
				"# TYPE st stateset\nst{st=\"a\"} 1\n# TYPE u unknown\nu 1\n# TYPE h histogram\nh_created 1\n# EOF\n",
			want: []string{
				`c/c_total{} 1`, `c_created/c_created{} 2`, `i/i_info{v="1"} 1`,
				`gh/gh_bucket{le="+Inf"} 1`, `gh/gh_gcount{} 1`, `gh/gh_gsum{} 1`, `gh_sum/gh_sum{} 1`,
				`st/st{st="a"} 1`, `u/u{} 1`, `h_created/h_created{} 1`,
			},
		},
		{
			name: "openmetrics timestamps and exemplars", format: FormatOpenMetrics,
			input: "# TYPE a counter\na_total 1 1700000000.5\na_created{x=\"y\"} 1.5 # {id=\"1\"} 2 1700000000\n" +
				"b 2 -1.25 # {} 3\nc 3 1700000000.123 # {\"dotted.id\"=\"x\"} 1.5\n# EOF",
			want: []string{
				`a/a_total{} 1 @1700000000500`, `a_created/a_created{x="y"} 1.5`,
				`b/b{} 2 @-1250`, `c/c{} 3 @1700000000123`,
			},
		},
		{
			name: "values", format: FormatText,
			input: "v{k=\"1\"} NaN\nv{k=\"2\"} +Inf\nv{k=\"3\"} -Inf\nv{k=\"4\"} Inf\nv{k=\"5\"} 1e3\nv{k=\"6\"} -0\n" +
				"v{k=\"7\"} .5\nv{k=\"8\"} 0.30000000000000004\nv{k=\"9\"} 123456789012345678\n",
			want: []string{
				`v/v{k="1"} NaN`, `v/v{k="2"} +Inf`, `v/v{k="3"} -Inf`, `v/v{k="4"} +Inf`, `v/v{k="5"} 1000`,
				`v/v{k="6"} -0`, `v/v{k="7"} 0.5`, `v/v{k="8"} 0.30000000000000004`, `v/v{k="9"} 1.2345678901234568e+17`,
			},
		},
		{
			name: "syntax latitude", format: FormatText,
			input: "  lead{a=\"b\"} 1\ntabs\t{\ta\t=\t\"b\"\t,\t}\t2\t3\nnospace{}4\nnegts 5 -1000\ntrailing 6 \n" +
				"minus-7\n\n   \n# comment\n#\n#HELP x\n# EOF\nafter_eof 8\n",
			want: []string{
				`lead/lead{a="b"} 1`, `tabs/tabs{a="b"} 2 @3`, `nospace/nospace{} 4`, `negts/negts{} 5 @-1000`,
				`trailing/trailing{} 6`, `minus/minus{} -7`, `after_eof/after_eof{} 8`,
			},
		},
		{
			name: "escapes and UTF-8", format: FormatText,
			input: `a{p="C:\\dir",q="say \"hi\"",n="1\n2",u="Zürich 🚀"} 1` + "\n" +
				`{"my.metric","my.label"="v",b="c"} 2` + "\n" + `{"q\"uote"} 3` + "\n",
			want: []string{
				`a/a{p="C:\\dir",q="say \"hi\"",n="1\n2",u="Zürich 🚀"} 1`,
				`my.metric/my.metric{my.label="v",b="c"} 2`,
				`q"uote/q"uote{} 3`,
			},
		},
		{
			name: "no final newline", format: FormatText,
			input: "a 1\nb{c=\"d\"} 2 3",
			want:  []string{`a/a{} 1`, `b/b{c="d"} 2 @3`},
		},
		{
			name: "empty", format: FormatText,
		},
		{
			name: "openmetrics empty", format: FormatOpenMetrics,
			input: "# EOF\n",
		},
		{
			name: "same series in two expositions", format: FormatText,
			input: "a{x=\"1\"} 1\na{x=\"2\"} 1\n",
			want:  []string{`a/a{x="1"} 1`, `a/a{x="2"} 1`},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := NewParser(Options{Interner: NewInterner(100)})
			for range 2 { // the second round runs on a used Parser
				samples, err := collect(t, p, []byte(tc.input), tc.format)
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				var got []string
				for _, s := range samples {
					got = append(got, format(s))
				}
				if !slices.Equal(got, tc.want) {
					t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
				}
			}
		})
	}
}

func TestParseKeep(t *testing.T) {
	input := "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 2\nh_count 3\nother{x=\"y\"} 4\nlast 5\n"
	var calls []string
	p := NewParser(Options{Keep: func(name, family string) bool {
		calls = append(calls, family+"/"+name)
		return name == "h_sum" || name == "last"
	}})
	var got []string
	n, err := p.Parse(strings.NewReader(input), FormatText, func(s *Sample) error {
		got = append(got, format(*s))
		return nil
	})
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if n != 5 {
		t.Errorf("got %d samples, want 5 (skipped ones count)", n)
	}
	if want := []string{"h/h_bucket", "h/h_sum", "h/h_count", "other/other", "last/last"}; !slices.Equal(calls, want) {
		t.Errorf("got Keep calls %q, want %q", calls, want)
	}
	if want := []string{`h/h_sum{} 2`, `last/last{} 5`}; !slices.Equal(got, want) {
		t.Errorf("got samples %q, want %q", got, want)
	}
}

// TestParseSampleLimit: over the limit, Parse reads the exposition on to its end
// without emitting (Prometheus parses on past sample_limit, so that
// scrape_samples_scraped says how many samples the target exposed) and returns the
// first line over it; a malformed line after the limit is the error instead, and the
// count of a malformed exposition is of the sample lines before the one that broke (as
// textparse's Next stops there).
func TestParseSampleLimit(t *testing.T) {
	const input = "a 1\nb 2\nc 3\nd{x=\"1\"} 4\ne 5\n"
	for _, tc := range []struct {
		name    string
		input   string
		limit   int
		keep    func(string, string) bool
		wantErr string // "": none
		wantN   int
		emitted []string
	}{
		{name: "under", input: input, limit: 5, wantN: 5, emitted: []string{"a", "b", "c", "d", "e"}},
		{name: "over", input: input, limit: 2, wantErr: "line 3: sample limit exceeded: 5 samples, more than the limit of 2", wantN: 5, emitted: []string{"a", "b"}},
		{name: "over at the last line", input: "a 1\nb 2\nc 3\n", limit: 2, wantErr: "line 3: sample limit exceeded: 3 samples, more than the limit of 2", wantN: 3, emitted: []string{"a", "b"}},
		{name: "skipped samples count", input: input, limit: 2, keep: func(n, _ string) bool { return n == "a" }, wantErr: "line 3: sample limit exceeded: 5 samples, more than the limit of 2", wantN: 5, emitted: []string{"a"}},
		{name: "malformed after the limit", input: "a 1\nb 2\nc 3\nd{ 4\ne 5\n", limit: 2, wantErr: `line 4: invalid label name at "4": "d{ 4"`, wantN: 3, emitted: []string{"a", "b"}},
		{name: "malformed quoted name after the limit", input: "a 1\nb 2\nc 3\n{\"d\" 4\n", limit: 2, wantErr: "line 4:", wantN: 3, emitted: []string{"a", "b"}},
		{name: "malformed under the limit", input: "a 1\nb x\nc 3\n", limit: 5, wantErr: `line 2: invalid value "x": "b x"`, wantN: 1, emitted: []string{"a"}},
		// Prometheus' scrape loop drops a repeat without a timestamp before its storage,
		// whose appends sample_limit counts; a repeat with one, and a sample out of the
		// storage's bounds, count.
		{name: "repeats without a timestamp do not count", input: "a 1\na 2\nb 3\na{} 4\n", limit: 2, wantN: 4, emitted: []string{"a", "b"}},
		{name: "repeats with a timestamp count", input: "a 1 1000\na 2 1000\nb 3\n", limit: 2, wantErr: "line 3: sample limit exceeded: 3 samples, more than the limit of 2", wantN: 3, emitted: []string{"a"}},
		{name: "unlimited", input: input, limit: 0, wantN: 5, emitted: []string{"a", "b", "c", "d", "e"}},
		{name: "negative is unlimited", input: input, limit: -1, wantN: 5, emitted: []string{"a", "b", "c", "d", "e"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, memo := range []bool{false, true} {
				p := NewParser(Options{SampleLimit: tc.limit, Keep: tc.keep})
				var emitted []string
				emit := func(s *Sample) error {
					emitted = append(emitted, s.Name)
					return nil
				}
				var n int
				var err error
				if memo {
					var m Memo
					// Twice: the second parse finds its lines in the memo.
					_, _ = p.ParseMemo(strings.NewReader(tc.input), FormatText, &m, nil)
					n, err = p.ParseMemo(strings.NewReader(tc.input), FormatText, &m, emit)
				} else {
					n, err = p.Parse(strings.NewReader(tc.input), FormatText, emit)
				}
				gotErr := ""
				if err != nil {
					gotErr = err.Error()
				}
				if n != tc.wantN || !strings.HasPrefix(gotErr, tc.wantErr) || (tc.wantErr == "") != (err == nil) || !slices.Equal(emitted, tc.emitted) {
					t.Errorf("memo %t: got %d samples, error %q, emitted %q; want %d, %q, %q", memo, n, gotErr, emitted, tc.wantN, tc.wantErr, tc.emitted)
				}
				if errors.Is(err, ErrSampleLimit) != strings.Contains(tc.wantErr, "sample limit") {
					t.Errorf("memo %t: errors.Is(%v, ErrSampleLimit) = %t", memo, err, errors.Is(err, ErrSampleLimit))
				}
			}
		})
	}
	// A sample beyond the storage's time bounds reaches it, and counts.
	n, err := NewParser(Options{SampleLimit: 1}).Parse(strings.NewReader("a 1 1e300\nb 2\n# EOF\n"), FormatOpenMetrics, nil)
	if n != 2 || err == nil || err.Error() != "line 2: sample limit exceeded: 2 samples, more than the limit of 1" {
		t.Errorf("a timestamp out of bounds, then one more sample over a limit of 1: got %d, %v", n, err)
	}
}

func TestParseEmitError(t *testing.T) {
	stop := errors.New("stop")
	calls := 0
	n, err := NewParser(Options{}).Parse(strings.NewReader("a 1\nb 2\nc 3\n"), FormatText, func(*Sample) error {
		calls++
		if calls == 2 {
			return stop
		}
		return nil
	})
	if err != stop {
		t.Errorf("got error %v, want the emit error as is", err)
	}
	if n != 2 || calls != 2 {
		t.Errorf("got %d samples and %d calls, want 2 and 2", n, calls)
	}
}

func TestParseReadError(t *testing.T) {
	broken := errors.New("connection reset")
	r := io.MultiReader(strings.NewReader("a 1\nb{c=\"d"), iotest.ErrReader(broken))
	n, err := NewParser(Options{}).Parse(r, FormatText, nil)
	if !errors.Is(err, broken) {
		t.Fatalf("got error %v, want it to wrap %v", err, broken)
	}
	if want := "line 2: connection reset"; err.Error() != want {
		t.Errorf("got error %q, want %q", err, want)
	}
	if n != 1 {
		t.Errorf("got %d samples, want 1: the cut line is not a sample", n)
	}
}

func TestParseUnknownFormat(t *testing.T) {
	_, err := NewParser(Options{}).Parse(strings.NewReader("a 1\n"), Format(0), nil)
	if want := "parse exposition: unknown format Format(0)"; err == nil || err.Error() != want {
		t.Errorf("got error %v, want %q", err, want)
	}
}

// TestParseReaders feeds the fixtures through readers that return little at a time.
func TestParseReaders(t *testing.T) {
	for _, path := range append(slices.Clone(textInputs), openMetricsInputs...) {
		f := FormatText
		if slices.Contains(openMetricsInputs, path) {
			f = FormatOpenMetrics
		}
		data := readFile(t, path)
		want, err := collect(t, NewParser(Options{}), data, f)
		if err != nil {
			t.Fatal(err)
		}
		for name, wrap := range map[string]func(io.Reader) io.Reader{
			"one byte": iotest.OneByteReader,
			"half":     iotest.HalfReader,
			"data+EOF": iotest.DataErrReader,
			"plain":    func(r io.Reader) io.Reader { return r },
		} {
			t.Run(path+"/"+name, func(t *testing.T) {
				var got []Sample
				_, err := NewParser(Options{}).Parse(wrap(bytes.NewReader(data)), f, func(s *Sample) error {
					c := *s
					c.Labels = slices.Clone(s.Labels)
					got = append(got, c)
					return nil
				})
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				if len(got) != len(want) {
					t.Fatalf("got %d samples, want %d", len(got), len(want))
				}
				for i := range got {
					if g, w := format(got[i]), format(want[i]); g != w {
						t.Fatalf("sample %d: got %s, want %s", i, g, w)
					}
				}
			})
		}
	}
}

func TestParseLongLines(t *testing.T) {
	huge := strings.Repeat("x", 3<<20)
	escaped := strings.Repeat(`a\"b\\`, 200<<10)
	input := "before 1\nlong{v=\"" + huge + "\"} 2\nescaped{v=\"" + escaped + "\"} 3\nafter 4\n"
	p := NewParser(Options{Interner: NewInterner(100)})
	samples, err := collect(t, p, []byte(input), FormatText)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if len(samples) != 4 {
		t.Fatalf("got %d samples, want 4", len(samples))
	}
	if got := samples[1].Labels[0].Value; got != huge {
		t.Errorf("got a value of %d bytes, want %d", len(got), len(huge))
	}
	if got, want := samples[2].Labels[0].Value, strings.Repeat(`a"b\`, 200<<10); got != want {
		t.Errorf("got an unescaped value of %d bytes, want %d", len(got), len(want))
	}
	if got := p.lr.retained(); got > maxRetainedBuffer {
		t.Errorf("got %d bytes of read buffer kept, want at most %d", got, maxRetainedBuffer)
	}
	if got := cap(p.scratch); got > maxRetainedScratch {
		t.Errorf("got %d bytes of scratch kept, want at most %d", got, maxRetainedScratch)
	}
	if got := p.opts.Interner.Len(); got > 10 {
		t.Errorf("got %d strings interned, want the long values left out", got)
	}
}

func TestParseManyLabels(t *testing.T) {
	var b strings.Builder
	b.WriteString("wide{")
	for i := range 50000 {
		fmt.Fprintf(&b, "l%d=\"%d\",", i, i)
	}
	b.WriteString("} 1\nnarrow{a=\"b\"} 2\n")
	p := NewParser(Options{})
	samples, err := collect(t, p, []byte(b.String()), FormatText)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if got := len(samples[0].Labels); got != 50000 {
		t.Errorf("got %d labels, want 50000", got)
	}
	if cap(p.labels) > maxRetainedLabels || cap(p.prev) > maxRetainedLabels || cap(p.names) > maxRetainedLabels {
		t.Errorf("got label buffers of %d, %d, %d kept, want at most %d", cap(p.labels), cap(p.prev), cap(p.names), maxRetainedLabels)
	}
}

// TestParseSteadyStateAllocs: a Parser with a warm Interner allocates nothing for an
// exposition it has seen, whether it keeps every sample or checks them all and keeps
// none.
func TestParseSteadyStateAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("measures allocations")
	}
	for _, path := range append(slices.Clone(textInputs), openMetricsInputs...) {
		for _, keep := range []func(string, string) bool{nil, func(string, string) bool { return false }} {
			t.Run(fmt.Sprintf("%s/skip-all=%t", path, keep != nil), func(t *testing.T) {
				steadyStateAllocs(t, path, keep)
			})
		}
	}
}

func steadyStateAllocs(t *testing.T, path string, keep func(string, string) bool) {
	f := FormatText
	if slices.Contains(openMetricsInputs, path) {
		f = FormatOpenMetrics
	}
	data := readFile(t, path)
	p := NewParser(Options{Interner: NewInterner(1 << 16), Keep: keep})
	r := bytes.NewReader(data)
	emit := func(*Sample) error { return nil }
	allocs := testing.AllocsPerRun(5, func() {
		r.Reset(data)
		if _, err := p.Parse(r, f, emit); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("got %v allocations per exposition, want 0", allocs)
	}
}

func TestParseNaNAndSign(t *testing.T) {
	samples, err := collect(t, NewParser(Options{}), []byte("a NaN\nb -0\n"), FormatText)
	if err != nil {
		t.Fatal(err)
	}
	if !math.IsNaN(samples[0].Value) {
		t.Errorf("got %v, want NaN", samples[0].Value)
	}
	if v := samples[1].Value; v != 0 || !math.Signbit(v) {
		t.Errorf("got %v, want -0", v)
	}
}

func TestParseZeroParser(t *testing.T) {
	var p Parser
	samples, err := collect(t, &p, []byte("a{b=\"c\"} 1\n"), FormatText)
	if err != nil || len(samples) != 1 || format(samples[0]) != `a/a{b="c"} 1` {
		t.Errorf("got %v, %v; want one sample a{b=\"c\"} 1", samples, err)
	}
}
