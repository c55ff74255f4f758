package pod

import (
	"slices"
	"testing"

	"github.com/podscrape/podscrape/source"
)

// merge gives each query once, sorted by name, whichever selection had it (the key of a
// merged selection is what makes two refreshes share one scrape).
func TestMergeSortsAndDedupes(t *testing.T) {
	q := func(name string) source.QueryTemplate {
		return source.QueryTemplate{Name: name, Type: source.QueryTypeMetricName, Template: name + "_metric"}
	}
	a := newSelection([]source.QueryTemplate{q("b"), q("d")}, nil, storedNames{})
	b := newSelection([]source.QueryTemplate{q("a"), q("b"), q("c")}, nil, storedNames{})
	m := merge(a, b, nil, storedNames{})
	var names []string
	for _, q := range m.queries {
		names = append(names, q.Name)
	}
	if want := []string{"a", "b", "c", "d"}; !slices.Equal(names, want) {
		t.Fatalf("merged queries %q, want %q", names, want)
	}
	if want := newSelection([]source.QueryTemplate{q("a"), q("b"), q("c"), q("d")}, nil, storedNames{}).key; m.key != want {
		t.Fatalf("merged key %q, want %q", m.key, want)
	}
}
