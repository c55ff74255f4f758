package pod

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/podscrape/podscrape/internal/history"
)

// TestPartialWindowsAgainstAFullHistory: the coverage check against the engine's own
// answers, over a history started at a random time and refreshed at random cadences
// (15 s to 3 min, jittered; metric g stored from a random refresh on), beside a full
// history scraped every 15 s for an hour before: wherever the full history answers and
// ours is empty, the check makes it an Error (a partial window, or an estimate with no
// value); wherever ours is empty and a window needs two samples or sums,
// "or vector(0)" is a partial window's Error; and wherever an estimate answers, it is
// no Error. Windows plain, offset, pinned by @ end() and in a subquery.
func TestPartialWindowsAgainstAFullHistory(t *testing.T) {
	exprs := []string{
		`sum(rate(x[1m]))`, `sum(increase(x[2m]))`, `sum(rate(x[1m] offset 1m))`, `sum(irate(x[45s]))`,
		`sum(increase(x[1m] offset 30s))`, `max_over_time(rate(x[1m])[2m:30s])`, `sum(delta(g[1m]))`,
		`sum(avg_over_time(g[1m]))`, `sum(last_over_time(g[1m]))`, `sum(changes(g[2m]))`, `sum(g offset 1m)`,
		`sum(deriv(g[90s]))`, `sum(increase(x[1m] @ end()))`, `sum_over_time(sum(rate(x[30s]))[2m:15s])`,
		`max_over_time(increase(x[1m])[3m:20s] offset 10s)`,
	}
	fails := map[string]int{}
	for seed := uint64(0); seed < 60; seed++ {
		rng := rand.New(rand.NewPCG(seed, 3))
		full, err := history.New(history.Options{})
		if err != nil {
			t.Fatal(err)
		}
		h, err := history.New(history.Options{})
		if err != nil {
			t.Fatal(err)
		}
		stored := storedNames{names: map[string]struct{}{"x": {}, "g": {}}}
		storedX := storedNames{names: map[string]struct{}{"x": {}}}
		var since storedSince
		start := t0
		for at := start.Add(-time.Hour); at.Before(start); at = at.Add(15 * time.Second) {
			appendOrFail(t, full, at, fullScrape(at, true))
		}
		at := start.Add(time.Duration(rng.IntN(60000)) * time.Millisecond)
		gStart := rng.IntN(10)
		for i := 0; i < 30; i++ {
			withG := i >= gStart
			appendOrFail(t, full, at, fullScrape(at, true))
			appendOrFail(t, h, at, fullScrape(at, withG))
			if withG {
				since.record(stored, at, history.DefaultRetention)
			} else {
				since.record(storedX, at, history.DefaultRetention)
			}
			step := []time.Duration{15 * time.Second, 15 * time.Second, 30 * time.Second, 50 * time.Second, 70 * time.Second, 3 * time.Minute}[rng.IntN(6)]
			step += time.Duration(rng.IntN(3000)) * time.Millisecond
			next := at.Add(step)
			for f := at.Add(15 * time.Second); f.Before(next); f = f.Add(15 * time.Second) {
				appendOrFail(t, full, f, fullScrape(f, true))
			}
			oldest, _ := h.Span()
			cov := coverage{oldest: oldest, since: since.clone()}
			for _, e := range exprs {
				a, err := h.Query(context.Background(), e, at)
				if err != nil {
					t.Fatal(err)
				}
				f, err := full.Query(context.Background(), e, at)
				if err != nil {
					t.Fatal(err)
				}
				if len(f.Points) > 0 && len(a.Points) == 0 {
					if err, _, est := cov.check("q", e, at); err == nil && est == nil {
						fails["empty, no partial window: "+e]++
					}
				}
				if len(a.Points) == 0 {
					if err, _, _ := cov.check("q", e+" or vector(0)", at); err == nil {
						if r, _ := history.Reads(e); hasPairsOrSums(r) {
							fails["or vector(0) on an empty window, no Error: "+e]++
						}
					}
				} else if err, _, _ := cov.check("q", e+" or vector(0)", at); err != nil && !sums(t, e) {
					fails["an estimate's answer with an Error: "+e]++
				}
			}
			at = next
		}
		full.Close()
		h.Close()
	}
	for what, n := range fails {
		t.Errorf("%s (%d times)", what, n)
	}
}

// hasPairsOrSums reports whether a read needs two samples or adds up over time.
func hasPairsOrSums(rs []history.Read) bool {
	for _, r := range rs {
		if r.Pairs || r.Sums {
			return true
		}
	}
	return false
}

// fullScrape is pod p's scrape at at: counter x, and gauge g when withG.
func fullScrape(at time.Time, withG bool) history.Scrape {
	ms := at.UnixMilli()
	s := []history.Sample{{Labels: labels.FromStrings("__name__", "x", "pod", "p"), T: ms, V: float64(ms / 1000)}}
	if withG {
		s = append(s, history.Sample{Labels: labels.FromStrings("__name__", "g", "pod", "p"), T: ms, V: float64(ms % 7)})
	}
	return history.Scrape{Target: "p", Time: at, Samples: s}
}

func appendOrFail(t *testing.T, h *history.History, at time.Time, sc history.Scrape) {
	t.Helper()
	if _, err := h.Append(context.Background(), at, []history.Scrape{sc}); err != nil {
		t.Fatal(err)
	}
}
