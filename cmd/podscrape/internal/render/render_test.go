package render_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/podscrape/podscrape/cmd/podscrape/internal/render"
	"github.com/podscrape/podscrape/cmd/podscrape/internal/snapshot"
	"github.com/podscrape/podscrape/source/pod"
)

// Regenerate the golden files with: go test ./cmd/podscrape/internal/render -run Golden -update
var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func lbl(pairs ...string) []snapshot.Label {
	var out []snapshot.Label
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, snapshot.Label{Name: pairs[i], Value: pairs[i+1]})
	}
	return out
}

// fixture is a Snapshot of a vLLM Service with one healthy pod and one refusing the
// scrape, holding every kind of value and label the formats must carry.
func fixture() *snapshot.Snapshot {
	const model = "meta-llama/Llama-3.1-8B-Instruct"
	ts := t0.Add(1500 * time.Millisecond)
	return &snapshot.Snapshot{
		Service:     "llm-d/vllm",
		CollectedAt: t0,
		Pods: []snapshot.PodStatus{
			{Pod: "vllm-0", Up: true, DurationSeconds: 0.0123456, Samples: 312},
			{Pod: "vllm-1", Up: false, DurationSeconds: 0.0004, Samples: 0,
				Error: (&pod.StatusError{StatusCode: 403}).Error(), Reason: pod.ReasonHTTPStatus},
		},
		Samples: []snapshot.Sample{
			{Name: "odd_values", Pod: "vllm-0", Labels: lbl("kind", "nan"), Value: math.NaN(), Timestamp: ts},
			{Name: "odd_values", Pod: "vllm-0", Labels: lbl("kind", "+inf"), Value: math.Inf(1), Timestamp: ts},
			{Name: "odd_values", Pod: "vllm-0", Labels: lbl("kind", "-inf"), Value: math.Inf(-1), Timestamp: ts},
			{Name: "odd_values", Pod: "vllm-0", Labels: lbl("kind", "tiny"), Value: 1.5e-12, Timestamp: ts},
			{Name: "quoting", Pod: "vllm-0", Labels: lbl("path", `C:\models`, "said", `"hi"`, "text", "two\nlines"), Value: 1, Timestamp: ts},
			{Name: "vllm:e2e_request_latency_seconds_bucket", Pod: "vllm-0", Labels: lbl("le", "0.5", "model_name", model), Value: 3, Timestamp: ts},
			{Name: "vllm:e2e_request_latency_seconds_bucket", Pod: "vllm-0", Labels: lbl("le", "+Inf", "model_name", model), Value: 7, Timestamp: ts},
			{Name: "vllm:e2e_request_latency_seconds_count", Pod: "vllm-0", Labels: lbl("model_name", model), Value: 7, Timestamp: ts},
			{Name: "vllm:e2e_request_latency_seconds_sum", Pod: "vllm-0", Labels: lbl("model_name", model), Value: 5.726374466999999, Timestamp: ts},
			{Name: "vllm:num_requests_running", Pod: "vllm-0", Labels: lbl("model_name", model), Value: 2, Timestamp: ts},
			{Name: "vllm:num_requests_waiting", Pod: "vllm-0", Labels: lbl("model_name", model), Value: 1, Timestamp: ts},
		},
		Metadata: map[string]pod.MetricMetadata{
			"vllm:e2e_request_latency_seconds": {Type: "histogram", Help: "Histogram of e2e request latency in seconds.", Unit: "seconds"},
			"vllm:num_requests_running":        {Type: "gauge", Help: "Number of requests in model execution batches."},
			"vllm:num_requests_waiting":        {Type: "gauge", Help: "Number of requests waiting to be processed."},
			"quoting":                          {Type: "gauge", Help: `A help text with a \ backslash` + "\nand a line feed."},
		},
	}
}

// later is fixture a refresh later: values moved, one series new, one gone, vllm-1 up.
func later() *snapshot.Snapshot {
	s := fixture()
	s.CollectedAt = t0.Add(2 * time.Second)
	s.Pods[1] = snapshot.PodStatus{Pod: "vllm-1", Up: true, DurationSeconds: 0.002, Samples: 310}
	s.Samples[6].Value = 9                              // +Inf bucket +2
	s.Samples[9].Value = 0.30000000000000004            // running: shown exactly, but no float noise in the delta
	s.Samples[10].Value = 0                             // waiting -1
	s.Samples = append(s.Samples[:4], s.Samples[5:]...) // quoting gone
	s.Samples = append(s.Samples, snapshot.Sample{Name: "vllm:prompt_tokens_total", Pod: "vllm-1",
		Labels: lbl("model_name", "m"), Value: 104, Timestamp: s.CollectedAt})
	return s
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("output differs from %s (run with -update to accept):\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

func TestGoldenFormats(t *testing.T) {
	for _, tc := range []struct {
		golden string
		snap   *snapshot.Snapshot
		opts   render.Options
	}{
		{"table.golden", fixture(), render.Options{Format: render.FormatTable}},
		{"wide.golden", fixture(), render.Options{Format: render.FormatWide}},
		{"json.golden", fixture(), render.Options{Format: render.FormatJSON}},
		{"json-compact.golden", fixture(), render.Options{Format: render.FormatJSON, Compact: true}},
		{"prom.golden", fixture(), render.Options{Format: render.FormatProm}},
		{"watch.golden", later(), render.Options{Format: render.FormatTable, Changes: render.Diff(fixture(), later())}},
		{"watch-first.golden", fixture(), render.Options{Format: render.FormatTable, Changes: render.Diff(nil, fixture())}},
		{"no-pods.golden", &snapshot.Snapshot{Service: "llm-d/vllm", CollectedAt: t0}, render.Options{}},
		{"no-samples.golden", &snapshot.Snapshot{Service: "llm-d/vllm", CollectedAt: t0, Pods: fixture().Pods}, render.Options{}},
		{"no-samples-matched.golden", &snapshot.Snapshot{Service: "llm-d/vllm", CollectedAt: t0, Pods: fixture().Pods, Filtered: true}, render.Options{}},
		{"no-samples-all-down.golden", &snapshot.Snapshot{Service: "llm-d/vllm", CollectedAt: t0, Pods: fixture().Pods[1:]}, render.Options{}},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			var b bytes.Buffer
			if err := render.Write(&b, tc.snap, tc.opts); err != nil {
				t.Fatal(err)
			}
			golden(t, tc.golden, b.Bytes())
		})
	}
}

// TestPromReparses reads the prom format back with the project's parser and with
// Prometheus' expfmt: every sample and every pod's status comes back with its pod label
// and its exact value.
func TestPromReparses(t *testing.T) {
	s := fixture()
	s.Samples = append(s.Samples, snapshot.Sample{Name: "utf8.name", Pod: "vllm-0", Labels: lbl("label.dotted", "v"), Value: 4, Timestamp: t0})
	checkRoundTrip(t, s)
}

// TestJSONRoundTrip decodes the json format: NaN and ±Inf survive as strings, every other
// value parses back exactly.
func TestJSONRoundTrip(t *testing.T) {
	s := fixture()
	var b bytes.Buffer
	if err := render.WriteJSON(&b, s, false); err != nil {
		t.Fatal(err)
	}
	var doc render.JSONDocument
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatalf("decode: %v", err)
	}
	if doc.Service != s.Service || len(doc.Pods) != 2 || len(doc.Samples) != len(s.Samples) {
		t.Fatalf("got %s with %d pods and %d samples, want %s, 2, %d", doc.Service, len(doc.Pods), len(doc.Samples), s.Service, len(s.Samples))
	}
	if doc.Pods[0].Up != 1 || doc.Pods[1].Up != 0 || doc.Pods[1].Error == "" || doc.Pods[0].Error != "" {
		t.Fatalf("pods: got %+v, want vllm-0 up without error, vllm-1 down with one", doc.Pods)
	}
	for i, smp := range doc.Samples {
		v, err := strconv.ParseFloat(smp.Value, 64)
		if err != nil {
			t.Fatalf("sample %d value %q: %v", i, smp.Value, err)
		}
		want := s.Samples[i].Value
		if v != want && !(math.IsNaN(v) && math.IsNaN(want)) {
			t.Fatalf("sample %d: got %v, want %v", i, v, want)
		}
		if _, ok := smp.Labels["pod"]; ok || smp.Labels == nil {
			t.Fatalf("sample %d labels %v: want a map without pod", i, smp.Labels)
		}
	}
}

func TestDiff(t *testing.T) {
	ch := render.Diff(fixture(), later())
	if ch.Changed != 3 || ch.New != 1 || ch.Gone != 1 {
		t.Fatalf("got %d changed, %d new, %d gone, want 3, 1, 1", ch.Changed, ch.New, ch.Gone)
	}
	if len(ch.PodsUp) != 1 || ch.PodsUp[0] != "vllm-1" || len(ch.PodsDown)+len(ch.PodsAdded)+len(ch.PodsGone) != 0 {
		t.Fatalf("pods: got up %v down %v added %v gone %v, want only vllm-1 up", ch.PodsUp, ch.PodsDown, ch.PodsAdded, ch.PodsGone)
	}
	if ch.Since != 2*time.Second {
		t.Fatalf("Since: got %v, want 2s", ch.Since)
	}
	if first := render.Diff(nil, fixture()); first.Changed+first.New+first.Gone != 0 {
		t.Fatalf("first refresh: got %+v, want nothing changed", first)
	}
	appeared := fixture()
	appeared.Pods = append(appeared.Pods,
		snapshot.PodStatus{Pod: "vllm-2", Up: true}, snapshot.PodStatus{Pod: "vllm-3", Up: false, Error: "connection refused"})
	ch = render.Diff(fixture(), appeared)
	if !slices.Equal(ch.PodsAdded, []string{"vllm-2"}) || !slices.Equal(ch.PodsDown, []string{"vllm-3"}) {
		t.Fatalf("pods that appeared: got added %v down %v, want added [vllm-2] (up) and down [vllm-3] (failing)", ch.PodsAdded, ch.PodsDown)
	}
	if ch.First || !render.Diff(nil, fixture()).First {
		t.Fatal("First: want it set by a nil prev only")
	}
	same := render.Diff(fixture(), fixture())
	if same.Changed != 0 {
		t.Fatalf("same values (NaN included): got %d changed, want 0", same.Changed)
	}
}

func TestParseFormat(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    render.Format
		wantErr bool
	}{
		{"", render.FormatTable, false},
		{"table", render.FormatTable, false},
		{"wide", render.FormatWide, false},
		{"json", render.FormatJSON, false},
		{"prom", render.FormatProm, false},
		{"yaml", "", true},
		{"JSON", "", true},
	} {
		got, err := render.ParseFormat(tc.in)
		if got != tc.want || (err != nil) != tc.wantErr {
			t.Errorf("ParseFormat(%q): got %q, %v, want %q, error %v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}
