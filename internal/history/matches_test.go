package history

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
)

// selectPods returns the pod label of each series Select returns for ms over the whole
// history.
func selectPods(t *testing.T, h *History, ms ...*labels.Matcher) []string {
	t.Helper()
	q, err := h.Queryable().Querier(0, t0.Add(time.Hour).UnixMilli())
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	set := q.Select(context.Background(), true, nil, ms...)
	var pods []string
	for set.Next() {
		pods = append(pods, set.At().Labels().Get("pod"))
	}
	if err := set.Err(); err != nil {
		t.Fatal(err)
	}
	return pods
}

// TestMatchesFollowSeriesCreatedAndDropped: the series a selector matched are kept for
// the next query asking it (postings.matching), but a series created since is in the
// next answer, and one the retention dropped is not, however often the selector was
// asked before.
func TestMatchesFollowSeriesCreatedAndDropped(t *testing.T) {
	h := newHistory(t, Options{Retention: time.Minute})
	x := []*labels.Matcher{labels.MustNewMatcher(labels.MatchEqual, "__name__", "x"), labels.MustNewMatcher(labels.MatchRegexp, "pod", "a|b")}
	mustAppend(t, h, t0, scrape("a", t0, "x", 1.0))
	for range 3 {
		if got := selectPods(t, h, x...); !slices.Equal(got, []string{"a"}) {
			t.Fatalf("x after a's first scrape = %q, want [a]", got)
		}
	}
	c := &h.db.postings.cache
	c.mu.Lock()
	kept, ok := c.sets[string(appendMatcherKey(nil, x))]
	c.mu.Unlock()
	if !ok || len(kept) != 1 {
		t.Errorf("after three Selects of x, the cache holds %d series for it (kept %t), want a's", len(kept), ok)
	}
	t1 := t0.Add(15 * time.Second)
	mustAppend(t, h, t1, scrape("a", t1, "x", 2.0), scrape("b", t1, "x", 3.0))
	if got := selectPods(t, h, x...); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("x after b appeared = %q, want [a b]", got)
	}
	// a stops; the retention drops its series once its samples are older than a minute.
	var at time.Time
	for i := 2; i < 10; i++ {
		at = t0.Add(time.Duration(i) * 15 * time.Second)
		mustAppend(t, h, at, scrape("b", at, "x", float64(i)))
	}
	h.db.mu.RLock()
	got, all := h.db.postings.matching(x)
	h.db.mu.RUnlock()
	if !all {
		t.Errorf("matching(x) of two candidates: all = false, want its matches kept")
	}
	for _, s := range got {
		if s.dead || s.lset.Get("pod") != "b" {
			t.Errorf("matching(x) after a's series was dropped holds %s (dead %t), want b's alone", s.lset, s.dead)
		}
	}
	if len(got) != 1 {
		t.Errorf("matching(x) after a's series was dropped = %d series, want 1", len(got))
	}
}

// TestMatchCacheBounded: the cache keeps at most maxCachedSelectors selectors, and none
// of more than maxCachedMatch candidates (a federation's {__name__=~".+"}), whatever is
// asked: its memory stays about a megabyte of pointers. A selector of more candidates is
// checked on each as it is read: {__name__="x", pod!="p7"} reads every x but p7's.
func TestMatchCacheBounded(t *testing.T) {
	h := newHistory(t, Options{})
	var scs []Scrape
	for i := range maxCachedMatch + 1 {
		scs = append(scs, scrape(fmt.Sprintf("p%d", i), t0, "x", 1.0))
	}
	mustAppend(t, h, t0, scs...)
	all := []*labels.Matcher{labels.MustNewMatcher(labels.MatchRegexp, "__name__", ".+")}
	if got := len(selectPods(t, h, all...)); got != maxCachedMatch+1 {
		t.Fatalf("{__name__=~\".+\"} = %d series, want %d", got, maxCachedMatch+1)
	}
	butP7 := []*labels.Matcher{labels.MustNewMatcher(labels.MatchEqual, "__name__", "x"), labels.MustNewMatcher(labels.MatchNotEqual, "pod", "p7")}
	for range 2 {
		got := selectPods(t, h, butP7...)
		if len(got) != maxCachedMatch || slices.Contains(got, "p7") {
			t.Fatalf("{__name__=\"x\", pod!=\"p7\"} = %d series (p7's among them: %t), want %d without p7's", len(got), slices.Contains(got, "p7"), maxCachedMatch)
		}
	}
	for i := range 3 * maxCachedSelectors {
		pod := fmt.Sprintf("p%d", i)
		if got := selectPods(t, h, labels.MustNewMatcher(labels.MatchEqual, "pod", pod)); !slices.Equal(got, []string{pod}) {
			t.Fatalf("{pod=%q} = %q", pod, got)
		}
	}
	c := &h.db.postings.cache
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.sets) > maxCachedSelectors {
		t.Errorf("the cache holds %d selectors, want at most %d", len(c.sets), maxCachedSelectors)
	}
	for key, set := range c.sets {
		if len(set) > maxCachedMatch {
			t.Errorf("the cache holds %d series for %q, want at most %d", len(set), key, maxCachedMatch)
		}
	}
}

// TestMatcherKeyDistinct: two different sets of matchers never share a key, whatever
// their names and values hold.
func TestMatcherKeyDistinct(t *testing.T) {
	m := labels.MustNewMatcher
	sets := [][]*labels.Matcher{
		{m(labels.MatchEqual, "a", "bc")},
		{m(labels.MatchEqual, "ab", "c")},
		{m(labels.MatchNotEqual, "a", "bc")},
		{m(labels.MatchRegexp, "a", "bc")},
		{m(labels.MatchEqual, "a", "b"), m(labels.MatchEqual, "c", "")},
		{m(labels.MatchEqual, "a", "b1:c")},
		{m(labels.MatchEqual, "a", "b"), m(labels.MatchEqual, "", "c")},
		{},
	}
	seen := map[string]int{}
	for i, ms := range sets {
		key := string(appendMatcherKey(nil, ms))
		if j, ok := seen[key]; ok {
			t.Errorf("sets %d and %d share the key %q", j, i, key)
		}
		seen[key] = i
	}
}
