package pod

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/podscrape/podscrape/source"
)

// Every pod failing its scrapes for six minutes (a metrics endpoint that times out under
// load, the Service's one replica crashlooping while Ready) stores no sample of the
// metrics: the refreshes of the outage are a gap, as refreshes that fail as a whole are.
// When the pod answers again, a rate over 5m holds its one new scrape: no value, and
// sum(rate(x[5m])) or vector(0) answers 0. That 0 is not "no load": its Error says so,
// until the window holds two scrapes after the outage; an increase over 2m is partial
// until 2 minutes are held after it.
func TestPromQLAfterEveryPodFailedForMinutes(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	p, cfg := startBodyPod(t, "")
	s, clk := fakeClockSource(t, cfg, t0, []source.QueryTemplate{
		{Name: "rate", Template: `sum(rate(reqs_total[5m])) or vector(0)`},
		{Name: "count", Template: `sum(increase(reqs_total[2m]))`},
	})
	const step = 15 * time.Second
	n := 0
	refresh := func(fail bool) (map[string]*source.MetricResult, error) {
		n++
		p.set(fmt.Sprintf("# TYPE reqs counter\nreqs_total %d\n", 10*n), fail)
		defer clk.Step(step)
		return s.Refresh(context.Background(), source.RefreshSpec{Queries: []string{"rate", "count"}})
	}
	for range 24 { // 6 minutes healthy
		if _, err := refresh(false); err != nil {
			t.Fatal(err)
		}
	}
	for range 24 { // 6 minutes of every scrape failing
		if _, err := refresh(true); !errors.Is(err, ErrAllPodsFailed) {
			t.Fatalf("every pod failing: got %v, want ErrAllPodsFailed", err)
		}
	}
	for i := 0; i <= 9; i++ {
		results, err := refresh(false)
		if err != nil {
			t.Fatalf("%d after the outage: %v", i, err)
		}
		rate, count := results["rate"], results["count"]
		switch {
		case i == 0 && !errors.Is(rate.Error, ErrPartialWindow):
			t.Errorf("first refresh after the outage: rate over 5m or vector(0): got %v, Error %v; want ErrPartialWindow (its 0 is vector(0)'s)", rate.Values, rate.Error)
		case i > 0 && rate.Error != nil:
			t.Errorf("%d after the outage: rate over 5m: got Error %v, want a value", i, rate.Error)
		case i < 8 && !errors.Is(count.Error, ErrPartialWindow):
			t.Errorf("%d after the outage: increase over 2m: got %v, Error %v; want ErrPartialWindow", i, count.Values, count.Error)
		case i >= 8 && count.Error != nil:
			t.Errorf("%d after the outage: increase over 2m: got Error %v, want none", i, count.Error)
		}
	}
}
