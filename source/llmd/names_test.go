package llmd_test

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/podscrape/podscrape/internal/localcluster"
	"github.com/podscrape/podscrape/source"
	"github.com/podscrape/podscrape/source/llmd"
)

// currentCaptures are the expositions of testdata/ captured from today's programs; the
// older captures (epp-metrics.txt, vllm-sim-metrics.txt) are not among them, so a query
// reading a name only yesterday's programs exposed fails.
var currentCaptures = []string{"vllm-sim-eec055a-metrics.txt", "vllm-sim-eec055a-live.txt", "llm-d-epp-ebab687-live.txt", "llm-d-epp-ebab687/*"}

// exposedNames returns every sample name of the current captures and of every simulated
// pod of today's programs.
func exposedNames(t *testing.T) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	add := func(body string) {
		sc := bufio.NewScanner(strings.NewReader(body))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			line := sc.Text()
			if line == "" || line[0] == '#' {
				continue
			}
			if i := strings.IndexAny(line, "{ "); i > 0 {
				names[line[:i]] = true
			}
		}
	}
	var files []string
	for _, pattern := range currentCaptures {
		matched, err := filepath.Glob(filepath.Join("..", "..", "testdata", pattern))
		if err != nil || len(matched) == 0 {
			t.Fatalf("testdata/%s: %v", pattern, err)
		}
		files = append(files, matched...)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		add(string(b))
	}
	pods := map[string][]string{"epp": {"epp-0"}, "vllm": {"vllm-0"}, "sglang": {"sglang-0"}}
	sim := localcluster.NewSimulation(localcluster.SimulationOptions{
		Seed: 1, EPPPods: pods["epp"], ModelServerPods: pods["vllm"], SGLangPods: pods["sglang"],
	})
	for range 30 {
		sim.Step()
	}
	for _, ps := range pods {
		for _, p := range ps {
			add(string(sim.Exposition(p)))
		}
	}
	return names
}

// readNames returns the metric names a PromQL expression's selectors read.
func readNames(t *testing.T, expr string) []string {
	t.Helper()
	e, err := parser.NewParser(parser.Options{}).ParseExpr(expr)
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	var out []string
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			for _, m := range vs.LabelMatchers {
				if m.Name == labels.MetricName {
					if m.Type != labels.MatchEqual {
						t.Errorf("%s: reads metric names by %s, not by name", expr, m)
					}
					out = append(out, m.Value)
				}
			}
		}
		return nil
	})
	return out
}

// Every metric name a shipped query reads is exposed by a captured exposition of a real
// program (testdata/) or by a simulated pod of today's programs: the next rename upstream
// shows as this test failing once the fixtures are refreshed, not as an empty answer in
// production.
func TestQueriesReadExposedNames(t *testing.T) {
	exposed := exposedNames(t)
	l := source.NewQueryList()
	if err := llmd.Register(l, llmd.Queries()); err != nil {
		t.Fatal(err)
	}
	params := map[string]string{source.ParamNamespace: "ns", source.ParamModelID: "m", llmd.ParamRetentionPeriod: "1h"}
	for _, name := range l.List() {
		expr, err := l.Build(name, params)
		if err != nil {
			t.Fatal(err)
		}
		reads := readNames(t, expr)
		if len(reads) == 0 {
			t.Errorf("%s reads no metric", name)
		}
		for _, n := range reads {
			if !exposed[n] {
				t.Errorf("%s reads %s, which no fixture and no simulated pod exposes", name, n)
			}
		}
	}
	// What the test is for: upstream's prefix_cache_hit_rate text reads a name today's
	// vLLM does not expose (upstream #1526).
	if exposed["vllm:prefix_cache_hits"] {
		t.Error("vllm:prefix_cache_hits (without _total) counts as exposed: the test would not catch upstream's query")
	}
}
