package history

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
)

// TestLabelHintsLimit: a LabelHints Limit of 0 is no limit; a positive one keeps that many
// of the sorted names or values, however many fewer there are.
func TestLabelHintsLimit(t *testing.T) {
	h := newHistory(t, Options{})
	mustAppend(t, h, t0, scrape("a", t0, "x", 1.0), scrape("b", t0, "x", 1.0), scrape("c", t0, "x", 1.0))
	q, err := h.Queryable().Querier(t0.UnixMilli(), t0.UnixMilli())
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	ctx := context.Background()
	for _, tc := range []struct {
		limit int
		want  []string
	}{{0, []string{"a", "b", "c"}}, {2, []string{"a", "b"}}, {3, []string{"a", "b", "c"}}, {5, []string{"a", "b", "c"}}} {
		got, _, err := q.LabelValues(ctx, "pod", &storage.LabelHints{Limit: tc.limit})
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("LabelValues(pod) with Limit %d = %q, %v; want %q", tc.limit, got, err, tc.want)
		}
	}
	names, _, err := q.LabelNames(ctx, &storage.LabelHints{Limit: 1})
	if err != nil || !slices.Equal(names, []string{"__name__"}) {
		t.Errorf("LabelNames with Limit 1 = %q, %v; want [__name__]", names, err)
	}
}

// TestFutureRefusalNamesHowFarAhead: the refusal of a sample ahead of its scrape says by
// how much.
func TestFutureRefusalNamesHowFarAhead(t *testing.T) {
	h := newHistory(t, Options{})
	sc := Scrape{Target: "skewed", Time: t0, Samples: []Sample{own("skewed", "x", t0.Add(20*time.Minute), 1)}}
	_, err := h.Append(context.Background(), t0, []Scrape{sc})
	if err == nil || !strings.Contains(err.Error(), ": 20m0s ahead of its scrape") {
		t.Errorf("error %v; want it to say 20m0s ahead of its scrape", err)
	}
}

// TestFutureRefusalOfAnotherUnitSaysHowFarAhead: an exporter writing its timestamps in
// microseconds or nanoseconds (a unit mistake, the likeliest cause of samples refused
// as ahead) puts them tens of thousands of years ahead: more than a time.Duration
// holds. The refusal says so, never a wrapped-around count of hours (the nanoseconds'
// read as -1057472h ahead, the microseconds' as 161 years).
func TestFutureRefusalOfAnotherUnitSaysHowFarAhead(t *testing.T) {
	for unit, ts := range map[string]int64{"µs": t0.UnixMicro(), "ns": t0.UnixNano()} {
		h := newHistory(t, Options{})
		sc := Scrape{Target: "skewed", Time: t0, Samples: []Sample{{Labels: labels.FromStrings("__name__", "x"), T: ts, V: 1, OwnTimestamp: true}}}
		_, err := h.Append(context.Background(), t0, []Scrape{sc})
		if err == nil || !strings.Contains(err.Error(), ": over 292 years ahead of its scrape") {
			t.Errorf("a timestamp in %s: error %v; want it to say over 292 years ahead of its scrape", unit, err)
		}
	}
}

// TestRefusedSeriesExactlyAtTheBound: MaxRefusedSeries refused series are all named;
// only one more drops the list.
func TestRefusedSeriesExactlyAtTheBound(t *testing.T) {
	h := newHistory(t, Options{SeriesLimit: 1})
	var samples []Sample
	for i := range MaxRefusedSeries + 1 { // the first is stored
		samples = append(samples, Sample{Labels: labels.FromStrings("__name__", "m", "i", fmt.Sprint(i)), T: t0.UnixMilli(), V: 1})
	}
	st, _ := h.Append(context.Background(), t0, []Scrape{{Target: "a", Time: t0, Samples: samples}})
	if st.Refused != MaxRefusedSeries || len(st.RefusedSeries) != MaxRefusedSeries {
		t.Errorf("%d refused: RefusedSeries has %d, want %d", st.Refused, len(st.RefusedSeries), MaxRefusedSeries)
	}
}

// TestLookbackDeltaOption: a LookbackDelta set is the one instant selectors use.
func TestLookbackDeltaOption(t *testing.T) {
	h := newHistory(t, Options{LookbackDelta: time.Minute})
	mustAppend(t, h, t0, scrape("a", t0, "x", 1.0))
	if got := query(t, h, "x", t0.Add(30*time.Second)); got["a"] != 1 {
		t.Errorf("x 30s after its sample = %v, want 1", got)
	}
	if got := query(t, h, "x", t0.Add(2*time.Minute)); len(got) != 0 {
		t.Errorf("x 2m after its sample with a 1m lookback = %v, want nothing", got)
	}
}

// TestSpanOldestIsTheFirstAppend: Span starts at the first append while the retention
// still covers it.
func TestSpanOldestIsTheFirstAppend(t *testing.T) {
	h := newHistory(t, Options{})
	t1 := t0.Add(time.Minute)
	mustAppend(t, h, t0, scrape("a", t0, "x", 1.0))
	mustAppend(t, h, t1, scrape("a", t1, "x", 2.0))
	if oldest, newest := h.Span(); !oldest.Equal(t0) || !newest.Equal(t1) {
		t.Errorf("Span = %s, %s; want %s, %s", oldest, newest, t0, t1)
	}
}

// TestSelectHintsLimit: a Select's Limit keeps that many series; one above the count keeps
// every series, and nothing else.
func TestSelectHintsLimit(t *testing.T) {
	h := newHistory(t, Options{})
	mustAppend(t, h, t0, scrape("a", t0, "x", 1.0), scrape("b", t0, "x", 2.0))
	q := openQuerier(t, h, t0.Add(-time.Minute).UnixMilli(), t0.UnixMilli())
	for limit, want := range map[int]int{1: 1, 2: 2, 10: 2} {
		hints := &storage.SelectHints{Start: t0.Add(-time.Minute).UnixMilli(), End: t0.UnixMilli(), Limit: limit}
		if got := sampleTimes(t, q, hints, isX); len(got) != want {
			t.Errorf("Select with Limit %d: %d series %v, want %d", limit, len(got), got, want)
		}
	}
}
