package history

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

// TestQueryableSelectsSortedSeriesAndLabels: Queryable serves what serve's API needs:
// series sorted by labels, their samples with the staleness marker as a sample, label
// names and values.
func TestQueryableSelectsSortedSeriesAndLabels(t *testing.T) {
	h := newHistory(t, Options{})
	t1 := t0.Add(15 * time.Second)
	mustAppend(t, h, t0, scrape("b", t0, "x", 2.0), scrape("a", t0, "x", 1.0, "y", 1.0), scrape("c", t0, "y", 3.0))
	mustAppend(t, h, t1, scrape("b", t1, "x", 4.0), scrape("a", t1, "x", 3.0))
	q, err := h.Queryable().Querier(t0.UnixMilli(), t1.UnixMilli())
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	ctx := context.Background()
	set := q.Select(ctx, true, nil, labels.MustNewMatcher(labels.MatchRegexp, "__name__", "x|y"), labels.MustNewMatcher(labels.MatchNotEqual, "pod", "c"))
	type sample struct {
		t int64
		v float64
	}
	var got []string
	samples := map[string][]sample{}
	for set.Next() {
		s := set.At()
		got = append(got, s.Labels().String())
		it := s.Iterator(nil)
		for it.Next() == chunkenc.ValFloat {
			ts, v := it.At()
			samples[s.Labels().String()] = append(samples[s.Labels().String()], sample{ts, v})
		}
	}
	if err := set.Err(); err != nil {
		t.Fatal(err)
	}
	want := []string{`{__name__="x", pod="a"}`, `{__name__="x", pod="b"}`, `{__name__="y", pod="a"}`}
	if !slices.Equal(got, want) {
		t.Errorf("Select = %q, want %q", got, want)
	}
	ya := samples[`{__name__="y", pod="a"}`]
	if len(ya) != 2 || ya[0].v != 1 || !value.IsStaleNaN(ya[1].v) || ya[1].t != t1.UnixMilli() {
		t.Errorf("y of a = %v, want 1 then a staleness marker at t1", ya)
	}
	names, _, err := q.LabelNames(ctx, nil)
	if err != nil || !slices.Equal(names, []string{"__name__", "pod"}) {
		t.Errorf("LabelNames = %q, %v; want [__name__ pod]", names, err)
	}
	pods, _, err := q.LabelValues(ctx, "pod", nil, labels.MustNewMatcher(labels.MatchEqual, "__name__", "y"))
	if err != nil || !slices.Equal(pods, []string{"a", "c"}) {
		t.Errorf("LabelValues(pod) of y = %q, %v; want [a c]", pods, err)
	}
}

// TestQueryableRespectsTimeRange: a querier over a range reads only series with samples
// in it, and SelectHints' range skips older chunks.
func TestQueryableRespectsTimeRange(t *testing.T) {
	h := newHistory(t, Options{Retention: time.Hour})
	var at time.Time
	for i := range 300 { // 300 samples of x: three chunks
		at = t0.Add(time.Duration(i) * time.Second)
		scs := []Scrape{scrape("a", at, "x", float64(i))}
		if i < 10 {
			scs = append(scs, scrape("early", at, "e", 1.0))
		}
		mustAppend(t, h, at, scs...)
	}
	from := t0.Add(250 * time.Second).UnixMilli()
	q, err := h.Queryable().Querier(from, at.UnixMilli())
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	pods, _, _ := q.LabelValues(context.Background(), "pod", nil)
	if !slices.Equal(pods, []string{"a"}) {
		t.Errorf("pods with samples after 250s = %q, want [a]", pods)
	}
	set := q.Select(context.Background(), false, &storage.SelectHints{Start: from, End: at.UnixMilli()}, labels.MustNewMatcher(labels.MatchEqual, "__name__", "x"))
	if !set.Next() {
		t.Fatal("x not selected")
	}
	it := set.At().Iterator(nil)
	if it.Next() != chunkenc.ValFloat {
		t.Fatal("x has no samples")
	}
	if first, _ := it.At(); first < t0.Add(240*time.Second).UnixMilli() {
		t.Errorf("first sample read at %d s, want the chunks before 240 s skipped", (first-t0.UnixMilli())/1000)
	}
	if it.Seek(from) != chunkenc.ValFloat {
		t.Fatal("Seek to the range's start found nothing")
	}
	if ts, v := it.At(); ts != from || v != 250 {
		t.Errorf("Seek(250s) = %d, %v; want 250 s, 250", ts, v)
	}
}

// TestQueriesDuringAppends: queries from a promql engine of the caller's own, and
// History.Query, run while appends go on (go test -race checks the sharing), and each
// sees whole appends: every pod's counter at the same step. A querier keeps its view
// across at most maxHist appends (the bound of what the store keeps for an open one): the
// appends, in a loop of their own, wait while a query has run across half that many,
// else a query slowed by the race detector on a busy machine reads its second selector
// past the bound (a flake once in a hundred runs).
func TestQueriesDuringAppends(t *testing.T) {
	h := newHistory(t, Options{})
	const pods, steps = 20, 200
	ng := promql.NewEngine(promql.EngineOpts{MaxSamples: 1e6, Timeout: time.Minute, LookbackDelta: 5 * time.Minute})
	done := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 1)
	report := func(err error) {
		select {
		case errs <- err:
		default:
		}
	}
	var (
		mu        sync.Mutex // protects latest, appends, inQuery and queryFrom
		latest    time.Time
		appends   int  // done
		inQuery   bool // a query is running
		queryFrom int  // appends done when it began
	)
	moved := sync.NewCond(&mu) // a query ended
	endQuery := func() {
		mu.Lock()
		inQuery = false
		moved.Broadcast()
		mu.Unlock()
	}
	// Within the lookback delta of every append: a query sees each pod's newest sample.
	readAt := t0.Add(4 * time.Minute)
	evaluated := 0
	first := make(chan struct{}) // closed by the first query that read an append
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer endQuery() // whatever it returned on
		for {
			select {
			case <-done:
				return
			default:
			}
			mu.Lock()
			at := latest
			inQuery, queryFrom = !at.IsZero(), appends
			mu.Unlock()
			if at.IsZero() {
				continue
			}
			q, err := ng.NewInstantQuery(context.Background(), h.Queryable(), nil, "max(c) - min(c)", readAt)
			if err != nil {
				report(err)
				return
			}
			res := q.Exec(context.Background())
			q.Close()
			if res.Err != nil {
				report(res.Err)
				return
			}
			// Every append is within the lookback of readAt: once one is in, every query
			// sees every pod (an empty answer hid series: an append cut their heads).
			v, ok := res.Value.(promql.Vector)
			if !ok || len(v) != 1 {
				report(fmt.Errorf("a query during the appends answered %v: series hidden", res.Value))
				return
			}
			if evaluated++; evaluated == 1 {
				close(first)
			}
			if v[0].F != 0 {
				report(errors.New("a query saw part of an append: pods at different steps"))
				return
			}
			if _, err := h.Query(context.Background(), "sum(rate(c[1m]))", at); err != nil {
				report(err)
				return
			}
			endQuery()
		}
	}()
	for i := range steps {
		at := t0.Add(time.Duration(i) * time.Second)
		scs := make([]Scrape, pods)
		for p := range pods {
			scs[p] = scrape(string(rune('a'+p)), at, "c", float64(i))
		}
		mu.Lock()
		for inQuery && appends-queryFrom >= maxHist/2 {
			moved.Wait()
		}
		mu.Unlock()
		mustAppend(t, h, at, scs...)
		mu.Lock()
		latest = at
		appends++
		mu.Unlock()
		if i == 0 {
			// The rest of the appends run while queries do: wait for the first one.
			select {
			case <-first:
			case err := <-errs:
				t.Fatal(err)
			case <-time.After(time.Minute):
				t.Fatal("no query evaluated within a minute of the first append")
			}
		}
	}
	close(done)
	wg.Wait()
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}
	if evaluated == 0 {
		t.Fatal("no query evaluated during the appends: the test proves nothing")
	}
}

// TestQueryableAfterClose fails with ErrClosed.
func TestQueryableAfterClose(t *testing.T) {
	h, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	qa := h.Queryable()
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := qa.Querier(0, math.MaxInt64); !errors.Is(err, ErrClosed) {
		t.Errorf("Querier after Close: %v, want ErrClosed", err)
	}
}

// TestQuerierSeesAppendsCommittedWhenMade: a querier left open across appends reads what
// was committed when it was made, new series included; once closed, appends stop keeping
// anything for it.
func TestQuerierSeesAppendsCommittedWhenMade(t *testing.T) {
	h := newHistory(t, Options{})
	mustAppend(t, h, t0, scrape("a", t0, "x", 1.0))
	q, err := h.Queryable().Querier(t0.UnixMilli(), t0.Add(time.Hour).UnixMilli())
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		at := t0.Add(time.Duration(i) * 15 * time.Second)
		mustAppend(t, h, at, scrape("a", at, "x", float64(1+i)), scrape("b", at, "x", 10.0))
	}
	read := func(q storage.Querier) map[string][]float64 {
		got := map[string][]float64{}
		set := q.Select(context.Background(), true, nil, labels.MustNewMatcher(labels.MatchEqual, "__name__", "x"))
		for set.Next() {
			it := set.At().Iterator(nil)
			for it.Next() == chunkenc.ValFloat {
				_, v := it.At()
				got[set.At().Labels().Get("pod")] = append(got[set.At().Labels().Get("pod")], v)
			}
		}
		return got
	}
	if got := read(q); len(got) != 1 || !slices.Equal(got["a"], []float64{1}) {
		t.Errorf("querier made after the first append reads %v, want only a's first sample", got)
	}
	if pods, _, _ := q.LabelValues(context.Background(), "pod", nil); !slices.Equal(pods, []string{"a"}) {
		t.Errorf("its LabelValues(pod) = %q, want [a]: b came later", pods)
	}
	q.Close()
	q.Close() // a second Close does nothing
	at := t0.Add(time.Minute)
	mustAppend(t, h, at, scrape("a", at, "x", 5.0), scrape("b", at, "x", 10.0))
	h.db.mu.RLock()
	for _, ms := range h.db.postings.all {
		if len(ms.epochs()) != 0 {
			t.Errorf("series %s keeps %d epochs with no querier open, want none", ms.lset, len(ms.epochs()))
		}
	}
	h.db.mu.RUnlock()
	q2, _ := h.Queryable().Querier(t0.UnixMilli(), t0.Add(time.Hour).UnixMilli())
	defer q2.Close()
	if got := read(q2); !slices.Equal(got["a"], []float64{1, 2, 3, 4, 5}) || len(got["b"]) != 4 {
		t.Errorf("a new querier reads %v, want every sample", got)
	}
}
