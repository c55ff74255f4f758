package serve

import (
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/podscrape/podscrape/source/pod"
)

// The history sees each pod's samples as they are, not a copy: every field, and the Ref
// slot it fills is the source's.
func TestHistorySamplesView(t *testing.T) {
	slot := new(any)
	src := []pod.SeriesSample{
		{Labels: labels.FromStrings("__name__", "a"), T: 1, V: 2, OwnTimestamp: true, Ref: slot},
		{Labels: labels.FromStrings("__name__", "b"), T: 3, V: 4},
	}
	got := historySamples(src)
	if len(got) != len(src) {
		t.Fatalf("%d samples, want %d", len(got), len(src))
	}
	for i := range src {
		g, s := got[i], src[i]
		if !labels.Equal(g.Labels, s.Labels) || g.T != s.T || g.V != s.V || g.OwnTimestamp != s.OwnTimestamp || g.Ref != s.Ref {
			t.Errorf("sample %d: %+v, want %+v", i, g, s)
		}
	}
	*got[0].Ref = "the history's handle"
	got[1].V = 5
	if *slot != "the history's handle" || src[1].V != 5 {
		t.Error("the history's samples are a copy of the source's, not a view")
	}
	if historySamples(nil) != nil {
		t.Error("no samples gave a slice")
	}
}
