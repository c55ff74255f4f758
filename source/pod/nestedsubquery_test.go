package pod

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/podscrape/podscrape/source"
)

// Through the public API: a window evaluated in nested subqueries holds two scrapes only
// at the inner steps the outer steps read, not wherever two scrapes lie in the span the
// subqueries cover. Refreshed every 50 s (two scrapes share a 1m window only at some
// minutes), an increase or a rate whose every such step's window holds one scrape answers
// nothing, and whatever else the expression answers (or vector(0): 0, "no load") carries
// ErrPartialWindow, as it does in a single subquery; it used to have a nil Error. So does
// a deriv over a subquery of rates, whose window holds the rates' points, not scrapes.
func TestNestedSubqueryOverOneScrapeIsPartial(t *testing.T) {
	p, cfg := startBodyPod(t, "x 0\n")
	nested := map[string]string{
		"increase": `sum(max_over_time(max_over_time(increase(x[1m])[1m:1m])[2m:1m]))`,
		"rate":     `sum(max_over_time(max_over_time(rate(x[1m])[1m:1m])[1m:1m]))`,
		// A function needing two points over a subquery reads the subquery's points.
		"deriv": `deriv(sum(rate(x[1m]))[5m:1m])`,
	}
	var queries []source.QueryTemplate
	for name, expr := range nested {
		queries = append(queries,
			source.QueryTemplate{Name: name, Template: expr},
			source.QueryTemplate{Name: name + "_or_0", Template: expr + " or vector(0)"})
	}
	s, clk := fakeClockSource(t, cfg, t0, queries)
	empty := map[string]int{}
	for i := range 16 {
		clk.SetTime(t0.Add(time.Duration(i) * 50 * time.Second))
		p.set(fmt.Sprintf("x %d\n", 10*i), false)
		rs := mustRefresh(t, s)
		for name := range nested {
			if len(rs[name].Values) > 0 {
				continue
			}
			empty[name]++
			if or0 := rs[name+"_or_0"]; !errors.Is(or0.Error, ErrPartialWindow) {
				t.Errorf("%s, refresh %d at %s: %s answers nothing; %s_or_0 answers %v with Error %v, want ErrPartialWindow",
					name, i, clk.Now().Sub(t0), name, name, or0.Values, or0.Error)
			}
		}
	}
	for name := range nested {
		if empty[name] == 0 {
			t.Errorf("%s never answered nothing: the test proves nothing", name)
		}
	}
}
