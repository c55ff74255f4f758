package parity

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/podscrape/podscrape/serve"
	"github.com/podscrape/podscrape/source"
	"github.com/podscrape/podscrape/source/pod"
)

// TestRepeatedSeriesStoredAsPrometheus: a series exposed twice in one scrape, the
// repeat with a later timestamp of its own, is stored twice by Prometheus (its scrape
// loop drops a repeat only when it has no timestamp; the TSDB takes a later sample);
// the same timestamp again, an earlier one, or no timestamp, keep the first sample. The
// pod source's PromQL history and ScrapeSeries (serve's) hold the same samples.
func TestRepeatedSeriesStoredAsPrometheus(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	t1 := time.Now().Add(-20 * time.Second).UnixMilli()
	t2 := t1 + 5000
	body := fmt.Sprintf(`later_rep 1 %[1]d
later_rep 2 %[2]d
later_rep{a=""} 3 %[3]d
same_rep 1 %[1]d
same_rep 2 %[1]d
earlier_rep 1 %[2]d
earlier_rep 2 %[1]d
none_rep 1
none_rep 2
`, t1, t2, t2+1000)
	queries := map[string]string{}
	for _, m := range []string{"later_rep", "same_rep", "earlier_rep", "none_rep"} {
		for _, f := range []string{"count_over_time", "sum_over_time", "last_over_time"} {
			queries[f+"("+m+")"] = f + "(" + m + "[1m])"
		}
	}
	sc := startScene(t, ctx, sceneSpec{
		prefix: "repeats", names: []string{"vllm-0"}, queries: queries,
		handler: func(string) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", textType)
				_, _ = w.Write([]byte(body))
			})
		},
	})
	waitScraped(t, ctx, sc.prom, time.Now(), 1)
	// The same exposition scraped again: the points stored already are dropped without
	// a word, as Prometheus' storage drops them (an out-of-order error on every query
	// of the series from the second scrape on, otherwise).
	for round := 1; round <= 2; round++ {
		results, err := sc.src.Refresh(ctx, source.RefreshSpec{})
		if err != nil {
			t.Fatal(err)
		}
		at := results["count_over_time(later_rep)"].CollectedAt
		waitScraped(t, ctx, sc.prom, at, 1)
		for name, q := range queries {
			v, _, _, err := sc.prom.API.Query(ctx, q, at)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := ours(results[name]), theirs(v); !maps.Equal(got, want) || errors.Is(results[name].Error, pod.ErrSampleOutOfOrder) {
				t.Errorf("refresh %d: %s:\n ours   %v (Error %v)\n theirs %v", round, name, got, results[name].Error, want)
			}
		}
	}
	// serve's store, from its own scrape: the samples with timestamps of their own are
	// the same in every scrape. Its history starts at that one scrape: a summing window
	// reaching back before it is partial (422, as the pod source's ErrPartialWindow),
	// answered here with its warning, to compare what it stores.
	base := startServeWith(t, ctx, sc, func(c *serve.Config) { c.AllowPartialWindows = true })
	now := strconv.FormatFloat(float64(time.Now().UnixMilli())/1000, 'f', 3, 64)
	for _, m := range []string{"later_rep", "same_rep", "earlier_rep"} {
		for _, f := range []string{"count_over_time", "sum_over_time", "last_over_time"} {
			u := "/api/v1/query?" + url.Values{"query": {f + "(" + m + "[1m])"}, "time": {now}}.Encode()
			_, got := rawAPI(t, base+u)
			_, want := rawAPI(t, sc.prom.URL+u)
			if g, w := resultValues(got.Data), resultValues(want.Data); g != w {
				t.Errorf("serve %s: %s, prometheus %s", u, g, w)
			}
		}
	}
	// The first sample of each series, and the repeats with a later timestamp; scraped
	// again, not the points of a series of several that its store has.
	for round, want := range []map[string][]float64{
		{"later_rep": {1, 2, 3}, "same_rep": {1}, "earlier_rep": {1}, "none_rep": {1}},
		{"later_rep": {3}, "same_rep": nil, "earlier_rep": nil, "none_rep": {1}},
	} {
		pods, err := sc.src.ScrapeSeries(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string][]float64{}
		for _, s := range pods[0].Samples {
			if n := s.Labels.Get("__name__"); len(n) > 4 && n[len(n)-4:] == "_rep" {
				got[n] = append(got[n], s.V)
			}
		}
		for n, w := range want {
			if fmt.Sprint(got[n]) != fmt.Sprint(w) {
				t.Errorf("ScrapeSeries %d: %s: %v, want %v", round+1, n, got[n], w)
			}
		}
	}
}

// resultValues is the values of an instant vector answer, labels (job aside) not shown.
func resultValues(data any) string {
	d, _ := data.(map[string]any)
	r, _ := d["result"].([]any)
	var out []string
	for _, x := range r {
		v, _ := x.(map[string]any)["value"].([]any)
		if len(v) == 2 {
			out = append(out, fmt.Sprint(v[1]))
		}
	}
	slices.Sort(out)
	return fmt.Sprint(out)
}
