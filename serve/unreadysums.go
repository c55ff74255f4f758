package serve

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/podscrape/podscrape/internal/history"
	"github.com/podscrape/podscrape/internal/leftout"
)

// unreadySums returns the error (HTTP 422, "execution") of an instant query whose window
// adding up over time (increase, sum_over_time, count_over_time, changes, ...: a summing
// function over a range) reads series of pods that answered before and that a Service
// no longer scrapes: not Ready (a pod failing its readiness probe under a burst, still
// completing the requests it holds) or finished. Such a window holds what those pods did
// up to their last scrape and nothing since: the answer is a lower bound, as a window
// reaching before the history is, never "idle" (a scale-to-zero count, sum(increase(
// requests[10m])), read as 0). A warning alone, which KEDA and the HPA's adapter never
// read, would let it scale the model to zero; the library's answer is an
// ErrPartialWindow for the same reason. nil under Config.AllowPartialWindows: the
// warning naming those pods (availability's) stays.
//
// Range queries keep the warning alone: each step before a pod turned not Ready is whole,
// and a dashboard showing the lower bound of the last ones, warned of, is what a
// Prometheus server shows there.
//
// An instant query at a time at before a Service's latest scrape ended reads an earlier
// scrape (KEDA's time to the second, in the second after the scrape that found a pod
// Ready again): the pods that scrape left out (stateAt, looking back lookback) are
// checked too, as they are when it is the latest.
func (s *Server) unreadySums(ctx context.Context, windows []history.Window, at time.Time, lookback time.Duration) error {
	if s.cfg.AllowPartialWindows {
		return nil
	}
	var errs []string
	thens := map[*service]*scrapeState{} // the scrape read at at, of a Service whose latest ended after it
	for _, w := range windows {
		if !w.Sums || w.Range == 0 {
			continue
		}
		for _, svc := range s.services {
			st := svc.state.Load()
			if st == nil || len(st.unready) == 0 && !at.Before(st.end) || !svc.reads(w.Matchers) {
				continue
			}
			of := "as of its latest scrape at " + st.start.UTC().Format(warningTime)
			named, n := svc.unreadyHolding(st, [][]*labels.Matcher{w.Matchers})
			if n == 0 && at.Before(st.end) {
				then, ok := thens[svc]
				if !ok {
					then, _ = svc.stateAt(ctx, at, lookback) // its error was availabilityAt's
					thens[svc] = then
				}
				if then != nil {
					of = fmt.Sprintf("as of its scrape at %s, which the query reads at %s", then.start.UTC().Format(warningTime), at.UTC().Format(warningTime))
					named, n = svc.unreadyHolding(then, [][]*labels.Matcher{w.Matchers})
				}
			}
			if n > 0 {
				errs = append(errs, fmt.Sprintf("partial window: %s adds up series of %d %s service %s no longer scrapes (%s), with nothing of them since their last scrape: %s: %s would answer less than the truth",
					w.Text, n, leftout.Pods(n), svc.key, of, named, what(w)))
			}
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return &apiError{errorExec, errors.New(joinBounded(errs, "such window"))}
}
