package history

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
)

// TestAppendRefusedSeries: AppendStats.RefusedSeries names each refused series once,
// sorted, whatever the cause; past MaxRefusedSeries it is nil and RefusedNames still
// names the metrics.
func TestAppendRefusedSeries(t *testing.T) {
	h := newHistory(t, Options{SeriesLimit: 2}) // kept and x; ahead and old, refused for their time, make no series
	sc := Scrape{Target: "a", Time: t0, Samples: []Sample{
		own("a", "ahead", t0.Add(20*time.Minute), 1),
		own("a", "old", t0.Add(-11*time.Minute), 1),
		own("a", "kept", t0, 1),
	}}
	st, _ := h.Append(context.Background(), t0, []Scrape{sc, scrape("b", t0, "x", 1.0, "y", 1.0)})
	want := []labels.Labels{
		labels.FromStrings("__name__", "ahead", "pod", "a"),
		labels.FromStrings("__name__", "old", "pod", "a"),
		labels.FromStrings("__name__", "y", "pod", "b"), // the third new series, past the limit
	}
	if !slices.EqualFunc(st.RefusedSeries, want, labels.Equal) {
		t.Errorf("RefusedSeries = %v, want %v", st.RefusedSeries, want)
	}

	many := newHistory(t, Options{SeriesLimit: 1})
	var samples []Sample
	for i := range MaxRefusedSeries + 2 {
		samples = append(samples, Sample{Labels: labels.FromStrings("__name__", "m", "i", fmt.Sprint(i)), T: t0.UnixMilli(), V: 1})
	}
	st, _ = many.Append(context.Background(), t0, []Scrape{{Target: "a", Time: t0, Samples: samples}})
	if st.RefusedSeries != nil || !slices.Equal(st.RefusedNames, []string{"m"}) || st.Refused != MaxRefusedSeries+1 {
		t.Errorf("%d series refused: RefusedSeries has %d, RefusedNames %v; want nil and [m]", st.Refused, len(st.RefusedSeries), st.RefusedNames)
	}
}

func TestSelects(t *testing.T) {
	refused := []labels.Labels{labels.FromStrings("__name__", "x", "pod", "a")}
	for _, tc := range []struct {
		expr string
		want bool
	}{
		{`x`, true},
		{`sum(rate(x[5m]))`, true},
		{`x{pod="a"}`, true},
		{`x{pod="b"}`, false},
		{`x{pod!="a"}`, false},
		{`y`, false},
		{`y + on() x{pod=~"a|c"}`, true},
		{`{__name__=~"x|y"}`, true},
		{`{pod="a"}`, true},
		{`vector(1)`, false},
	} {
		got, err := Selects(tc.expr, refused)
		if err != nil || got != tc.want {
			t.Errorf("Selects(%s) = %t, %v; want %t", tc.expr, got, err, tc.want)
		}
	}
	if _, err := Selects(`sum(`, refused); err == nil {
		t.Error("Selects of a malformed expression: got no error")
	}
}
