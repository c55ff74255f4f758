package source_test

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// upstreamGuide is the upstream autoscaler's usage guide of PodScrapingSource, the
// contract this module honours (every type, field, default and behaviour in it), copied
// as it is: see testdata/README.md.
const upstreamGuide = "testdata/pod-scraping-source-guide.md"

// upstreamRewrites are the only changes made to the upstream guide's code before it is
// type-checked, each with how many times it must apply (so an edit of the guide that
// adds or drops one is seen). DESIGN.md allows the first and the second; the third is a
// line the guide leaves for the reader to fill.
var upstreamRewrites = []struct {
	what        string
	re          *regexp.Regexp
	replacement string
	times       int
}{
	{
		"the import paths",
		regexp.MustCompile(`github\.com/llm-d/llm-d-workload-variant-autoscaler/internal/collector/source`),
		"github.com/podscrape/podscrape/source",
		3,
	},
	{
		// source.Refresh(ctx, source.RefreshSpec{}): a variable named source shadows
		// the package, so it is renamed src (an engine's field e.source is no variable).
		"the variable source that shadows package source",
		regexp.MustCompile(`(^|[^.\w])source(, err :=| :=|\.(?:Refresh|Get|QueryList)\()`),
		"${1}src$2",
		8,
	},
	{
		"the client the reader supplies",
		regexp.MustCompile(`k8sClient := // your Kubernetes client`),
		"var k8sClient client.Client // your Kubernetes client",
		1,
	},
}

// upstreamVars are what the upstream guide's statements take as given beyond guideVars:
// the source (renamed src, see upstreamRewrites) and a Refresh's results.
const upstreamVars = `
var (
	src     *pod.PodScrapingSource
	results map[string]*source.MetricResult
)
`

// TestDocsUpstreamGuideCodeCompiles type-checks every Go block of the upstream guide
// against this module, with only upstreamRewrites applied: declarations as a file,
// statements as a function's body, as TestGuideCodeCompiles checks this module's own
// docs; and the MetricResult and MetricValue structs it shows must list fields of
// package source's types, of the same types. It checks that the code compiles, not
// what it does: the behaviour each block shows is the Examples' and the tests' (the
// Example functions of source/pod replay the guide's blocks on real pods).
func TestDocsUpstreamGuideCodeCompiles(t *testing.T) {
	text, err := os.ReadFile(upstreamGuide)
	if err != nil {
		t.Fatal(err)
	}
	guide := string(text)
	for _, r := range upstreamRewrites {
		if n := len(r.re.FindAllStringIndex(guide, -1)); n != r.times {
			t.Errorf("%s: rewritten %d times, want %d: the guide changed, see upstreamRewrites", r.what, n, r.times)
		}
		guide = r.re.ReplaceAllString(guide, r.replacement)
	}
	blocks := goBlocks(guide)
	if len(blocks) != 17 {
		t.Fatalf("%s: found %d Go blocks, want 17", upstreamGuide, len(blocks))
	}
	// The guide shows MetricResult and MetricValue in blocks of their own, the first
	// naming the second: they are checked as one file.
	result := slices.IndexFunc(blocks, func(b []string) bool { return strings.HasPrefix(b[1], "type MetricResult struct") })
	value := slices.IndexFunc(blocks, func(b []string) bool { return strings.HasPrefix(b[1], "type MetricValue struct") })
	if result < 0 || value < 0 {
		t.Fatalf("%s: no block declaring MetricResult (%d) or MetricValue (%d)", upstreamGuide, result, value)
	}
	blocks[result] = []string{blocks[result][0], blocks[result][1] + blocks[value][1]}
	blocks = slices.Delete(blocks, value, value+1)
	dc := newDocChecker(t)
	checkDocBlocks(t, upstreamGuide, guide, blocks, dc.header, guideVars+upstreamVars, dc.fset, dc.imp, dc.sourcePkg)
}
