package render_test

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/podscrape/podscrape/cmd/podscrape/internal/render"
	"github.com/podscrape/podscrape/cmd/podscrape/internal/snapshot"
	"github.com/podscrape/podscrape/internal/exposition"
	"github.com/podscrape/podscrape/source/pod"
)

// series renders a sample's identity for comparisons: name, then labels sorted. le and
// quantile are compared as numbers: the parser may normalise them as Prometheus does
// (le="1" read as "1.0"), which is not the renderer's business.
func series(name string, labels []snapshot.Label) string {
	ls := slices.Clone(labels)
	for i, l := range ls {
		if l.Name == "le" || l.Name == "quantile" {
			if f, err := strconv.ParseFloat(l.Value, 64); err == nil {
				ls[i].Value = strconv.FormatFloat(f, 'g', -1, 64)
			}
		}
	}
	slices.SortFunc(ls, func(a, b snapshot.Label) int { return strings.Compare(a.Name, b.Name) })
	return fmt.Sprintf("%q%q", name, ls)
}

// wantSeries is what the prom format of s must hold: every sample with its pod label,
// and each pod's up, scrape_duration_seconds and scrape_samples_scraped.
func wantSeries(s *snapshot.Snapshot) map[string]float64 {
	want := map[string]float64{}
	for _, smp := range s.Samples {
		want[series(smp.Name, append(slices.Clone(smp.Labels), snapshot.Label{Name: "pod", Value: smp.Pod}))] = smp.Value
	}
	for _, p := range s.Pods {
		up := 0.0
		if p.Up {
			up = 1
		}
		pl := []snapshot.Label{{Name: "pod", Value: p.Pod}}
		want[series("up", pl)] = up
		want[series("scrape_duration_seconds", pl)] = p.DurationSeconds
		want[series("scrape_samples_scraped", pl)] = float64(p.Samples)
	}
	return want
}

// parseBack reads text with the project's parser (text format 0.0.4), as a pod's
// exposition is read.
func parseBack(t testing.TB, text []byte) map[string]float64 {
	t.Helper()
	got := map[string]float64{}
	_, err := exposition.NewParser(exposition.Options{}).Parse(bytes.NewReader(text), exposition.FormatText,
		func(smp *exposition.Sample) error {
			var ls []snapshot.Label
			for _, l := range smp.Labels {
				ls = append(ls, snapshot.Label{Name: l.Name, Value: l.Value})
			}
			got[series(smp.Name, ls)] = smp.Value
			return nil
		})
	if err != nil {
		t.Fatalf("parse the prom output: %v\n%s", err, text)
	}
	return got
}

func sameValue(a, b float64) bool { return a == b || math.IsNaN(a) && math.IsNaN(b) }

// checkRoundTrip writes s as prom and reads it back with the project's parser and with
// expfmt: every series comes back, with its exact name, labels and value.
func checkRoundTrip(t testing.TB, s *snapshot.Snapshot) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := render.WriteProm(&b, s); err != nil {
		t.Fatal(err)
	}
	want := wantSeries(s)
	got := parseBack(t, b.Bytes())
	if len(got) != len(want) {
		t.Fatalf("series: got %d, want %d\n%s", len(got), len(want), b.Bytes())
	}
	for k, v := range want {
		g, ok := got[k]
		if !ok {
			t.Fatalf("series %s: missing after a round trip; got %v\n%s", k, got, b.Bytes())
		}
		if !sameValue(g, v) {
			t.Fatalf("series %s: got %v, want %v", k, g, v)
		}
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	if _, err := p.TextToMetricFamilies(bytes.NewReader(b.Bytes())); err != nil {
		t.Fatalf("expfmt does not parse the prom output: %v\n%s", err, b.Bytes())
	}
	return b.Bytes()
}

// oddNames are names and values the format must carry exactly: UTF-8 outside the
// classic set, the three escaped characters, and control characters, which are written
// as is (strconv.Quote would write \t or \x01, which the format does not know).
var oddNames = []string{
	"utf8.name", "ünïcödé", "名前", "with space", `back\slash`, `dq"uote`, "line\nfeed",
	"tab\there", "ctl\x01\x1f\x7f", "cr\rhere", "nbsp\u00a0x", "ls\u2028x", "emoji😀", "0starts_with_digit",
	"colon:in:label", "nul\x00byte",
}

func TestPromRoundTripsOddNamesAndValues(t *testing.T) {
	for _, name := range oddNames {
		t.Run(fmt.Sprintf("%q", name), func(t *testing.T) {
			s := &snapshot.Snapshot{
				Service: "ns/svc", CollectedAt: t0,
				Pods: []snapshot.PodStatus{{Pod: name, Up: true, DurationSeconds: 0.5, Samples: 3}},
				Samples: []snapshot.Sample{
					{Name: name, Pod: name, Labels: lbl(name, name), Value: 1, Timestamp: t0},
					{Name: "classic", Pod: name, Labels: lbl("v", name, "w", ""), Value: math.NaN(), Timestamp: t0},
					{Name: name + "_total", Pod: name, Value: math.Inf(-1), Timestamp: t0},
				},
				Metadata: map[string]pod.MetricMetadata{
					name:            {Type: "gauge", Help: "help of " + name},
					name + "_total": {Type: "counter", Help: name},
				},
			}
			out := checkRoundTrip(t, s)
			for _, bad := range []string{`\t`, `\x`, `\u`, `\r`, `\0`} {
				if bytes.Contains(out, []byte(bad)) && !strings.Contains(name, `\`) {
					t.Fatalf("output holds the escape %s, which the format does not have:\n%s", bad, out)
				}
			}
		})
	}
}

// FuzzPromRoundTrip writes a sample of any UTF-8 name, label and value and reads it
// back with the project's parser. The seeds run with go test; fuzz with
// go test ./cmd/podscrape/internal/render -run '^$' -fuzz FuzzPromRoundTrip -fuzztime 30s
func FuzzPromRoundTrip(f *testing.F) {
	for _, n := range oddNames {
		f.Add(n, n, n, n)
	}
	f.Add("vllm:num_requests_waiting", "model_name", "Qwen/Qwen3-0.6B", "help\\with\nescapes")
	f.Fuzz(func(t *testing.T, name, labelName, labelValue, help string) {
		for _, s := range []string{name, labelName, labelValue, help} {
			if !utf8Valid(s) {
				t.Skip("the format holds UTF-8 only")
			}
		}
		if name == "" || labelName == "" || labelName == "pod" || labelName == "__name__" {
			t.Skip("not a sample the scraper makes")
		}
		s := &snapshot.Snapshot{
			Service: "ns/svc", CollectedAt: t0,
			Pods:     []snapshot.PodStatus{{Pod: "p", Up: true}},
			Samples:  []snapshot.Sample{{Name: name, Pod: "p", Labels: lbl(labelName, labelValue), Value: 2, Timestamp: t0}},
			Metadata: map[string]pod.MetricMetadata{name: {Type: "gauge", Help: help}},
		}
		checkRoundTrip(t, s)
	})
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "") == s }

// metadataOf reads the # HELP and # TYPE of a text-format exposition with expfmt, as
// MetricMetadata by family name.
func metadataOf(t *testing.T, text []byte) map[string]pod.MetricMetadata {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(bytes.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	meta := map[string]pod.MetricMetadata{}
	for name, f := range families {
		typ := strings.ToLower(f.GetType().String())
		if typ == "untyped" {
			typ = "unknown"
		}
		meta[name] = pod.MetricMetadata{Type: typ, Help: f.GetHelp()}
	}
	return meta
}

// snapshotOf is the Snapshot of pods exposing text, with its metadata.
func snapshotOf(t *testing.T, text []byte, pods ...string) *snapshot.Snapshot {
	t.Helper()
	s := &snapshot.Snapshot{Service: "ns/svc", CollectedAt: t0, Metadata: metadataOf(t, text)}
	for _, p := range pods {
		n, err := exposition.NewParser(exposition.Options{}).Parse(bytes.NewReader(text), exposition.FormatText,
			func(smp *exposition.Sample) error {
				var ls []snapshot.Label
				for _, l := range smp.Labels {
					ls = append(ls, snapshot.Label{Name: l.Name, Value: l.Value})
				}
				s.Samples = append(s.Samples, snapshot.Sample{Name: smp.Name, Pod: p, Labels: ls, Value: smp.Value, Timestamp: t0})
				return nil
			})
		if err != nil {
			t.Fatal(err)
		}
		s.Pods = append(s.Pods, snapshot.PodStatus{Pod: p, Up: true, DurationSeconds: 0.01, Samples: n})
	}
	// As snapshot.Build orders them: by name, then pod, exposition order kept.
	slices.SortStableFunc(s.Samples, func(a, b snapshot.Sample) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return strings.Compare(a.Pod, b.Pod)
	})
	return s
}

// lint is what promtool check metrics reports on text, as "metric: problem" lines.
func lint(t *testing.T, text []byte) []string {
	t.Helper()
	problems, err := promlint.New(bytes.NewReader(text)).Lint()
	if err != nil {
		t.Fatalf("promlint: %v\n%s", err, text)
	}
	var out []string
	for _, p := range problems {
		out = append(out, p.Metric+": "+p.Text)
	}
	return slices.Compact(out)
}

// TestPromKeepsHelpAndType scrapes real expositions (two pods each) into the prom
// format: the lint problems `promtool check metrics` finds are the pods' own, none
// added; a compliant pod gives output that passes.
func TestPromKeepsHelpAndType(t *testing.T) {
	for _, fixture := range []string{"prometheus-server-metrics.prom.txt", "epp-metrics.txt", "vllm-sim-metrics.txt"} {
		t.Run(fixture, func(t *testing.T) {
			text, err := os.ReadFile(filepath.Join("..", "..", "..", "..", "testdata", fixture))
			if err != nil {
				t.Fatal(err)
			}
			s := snapshotOf(t, text, "pod-a", "pod-b")
			out := checkRoundTrip(t, s)
			if got, want := lint(t, out), lint(t, text); !slices.Equal(got, want) {
				t.Fatalf("lint problems: got %d %q, want the exposition's own %d %q", len(got), got, len(want), want)
			}
		})
	}
	compliant := []byte(`# HELP http_requests_total Requests served.
# TYPE http_requests_total counter
http_requests_total{code="200"} 7
# HELP queue_size Requests waiting.
# TYPE queue_size gauge
queue_size 3
# HELP latency_seconds Request latency.
# TYPE latency_seconds histogram
latency_seconds_bucket{le="0.1"} 1
latency_seconds_bucket{le="+Inf"} 2
latency_seconds_sum 0.3
latency_seconds_count 2
# HELP rpc_seconds RPC latency.
# TYPE rpc_seconds summary
rpc_seconds{quantile="0.5"} 0.1
rpc_seconds_sum 1
rpc_seconds_count 4
`)
	if problems := lint(t, compliant); len(problems) != 0 {
		t.Fatalf("the compliant exposition: got %q, want no lint problem", problems)
	}
	out := checkRoundTrip(t, snapshotOf(t, compliant, "p-0", "p-1"))
	if problems := lint(t, out); len(problems) != 0 {
		t.Fatalf("prom output of compliant pods: got lint problems %q, want none:\n%s", problems, out)
	}
}

// TestPromFamiliesOfOpenMetrics writes the families of an OpenMetrics exposition as the
// text format names them: counter x with x_total samples is family x_total, _created and
// info series are gauges, units are dropped; and lint finds nothing to say.
func TestPromFamiliesOfOpenMetrics(t *testing.T) {
	s := &snapshot.Snapshot{
		Service: "ns/svc", CollectedAt: t0,
		Pods: []snapshot.PodStatus{{Pod: "p", Up: true, Samples: 6}},
		Samples: []snapshot.Sample{
			{Name: "build_info", Pod: "p", Labels: lbl("version", "1.0"), Value: 1},
			{Name: "requests_created", Pod: "p", Value: 1.7e9},
			{Name: "requests_total", Pod: "p", Value: 7},
			{Name: "wait_seconds_bucket", Pod: "p", Labels: lbl("le", "1"), Value: 1},
			{Name: "wait_seconds_bucket", Pod: "p", Labels: lbl("le", "+Inf"), Value: 2},
			{Name: "wait_seconds_count", Pod: "p", Value: 2},
			{Name: "wait_seconds_sum", Pod: "p", Value: 1.5},
		},
		Metadata: map[string]pod.MetricMetadata{
			"build":        {Type: "info", Help: "Build information."},
			"requests":     {Type: "counter", Help: "Requests served."},
			"wait_seconds": {Type: "histogram", Help: "Time waited\nin the queue \\o/", Unit: "seconds"},
		},
	}
	out := checkRoundTrip(t, s)
	want := `# HELP build_info Build information.
# TYPE build_info gauge
build_info{pod="p",version="1.0"} 1
# HELP requests_created Requests served.
# TYPE requests_created gauge
requests_created{pod="p"} 1.7e+09
# HELP requests_total Requests served.
# TYPE requests_total counter
requests_total{pod="p"} 7
# HELP wait_seconds Time waited\nin the queue \\o/
# TYPE wait_seconds histogram
wait_seconds_bucket{le="1",pod="p"} 1
wait_seconds_bucket{le="+Inf",pod="p"} 2
wait_seconds_sum{pod="p"} 1.5
wait_seconds_count{pod="p"} 2
`
	if !strings.HasPrefix(string(out), want) {
		t.Fatalf("got:\n%s\nwant it to start with:\n%s", out, want)
	}
	if problems := lint(t, out); len(problems) != 0 {
		t.Fatalf("lint: got %q, want nothing", problems)
	}
}

// TestPromStatusFollowsTheSamples checks the order docs/cli.md gives: the exposed
// families, then up, scrape_duration_seconds and scrape_samples_scraped; an exposed up
// with more labels joins the family of the pods' up.
func TestPromStatusFollowsTheSamples(t *testing.T) {
	s := fixture()
	s.Samples = append(s.Samples, snapshot.Sample{Name: "up", Pod: "vllm-0", Labels: lbl("job", "inner"), Value: 1})
	s.Samples = append(s.Samples, snapshot.Sample{Name: "zzz", Pod: "vllm-0", Value: 1})
	out := string(checkRoundTrip(t, s))
	var types []string
	for line := range strings.Lines(out) {
		if name, ok := strings.CutPrefix(line, "# TYPE "); ok {
			types = append(types, strings.Fields(name)[0])
		}
	}
	want := []string{"odd_values", "quoting", "vllm:e2e_request_latency_seconds", "vllm:num_requests_running", "vllm:num_requests_waiting", "zzz",
		"up", "scrape_duration_seconds", "scrape_samples_scraped"}
	if !slices.Equal(types, want) {
		t.Fatalf("families: got %q, want %q", types, want)
	}
}
