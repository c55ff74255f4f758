package serve

import (
	"context"
	"time"
)

// SetBeforeExec makes every query call f once its availability was checked, just before
// the engine reads the histories: where a scrape landing concurrently would change what
// the evaluation reads.
func SetBeforeExec(s *Server, f func()) { s.beforeExec = f }

// ScrapeNow scrapes every Service of s once, now.
func ScrapeNow(ctx context.Context, s *Server) {
	for _, svc := range s.services {
		_, _ = svc.scrape(ctx, want{asked: time.Now()})
	}
}

// SetOnQuerier makes every read of the histories call f: an evaluation's once the query
// holds its concurrency slot.
func SetOnQuerier(s *Server, f func()) { s.onQuerier = f }

// ScrapesWaiting returns how many callers wait on the scrape in flight of s's i-th
// Service and on the one queued after it.
func ScrapesWaiting(s *Server, i int) (running, next int) { return s.services[i].scrapes.Waiters() }

// AppendAhead appends to the i-th Service's history a scrape of no target at d past now:
// what the history holds after a scrape under a clock running d ahead, which NTP then
// steps back (the next scrape starts the history over).
func AppendAhead(ctx context.Context, s *Server, i int, d time.Duration) error {
	_, err := s.services[i].hist.Append(ctx, time.Now().Add(d), nil)
	return err
}

// ScrapeAt scrapes the i-th Service of s now and appends what it found to its history
// as a scrape started at about at would (its times moved by at less now): a history with
// a past, built without waiting (an at before the history's newest scrape starts it
// over, as a clock stepped back).
func ScrapeAt(ctx context.Context, s *Server, i int, at time.Time) error {
	_, err := s.services[i].scrapeShifted(ctx, time.Until(at))
	return err
}

// SetAfterAppend makes every scrape of s call f once it has appended to its Service's
// history, before it stores its state.
func SetAfterAppend(s *Server, f func()) {
	for _, svc := range s.services {
		svc.afterAppend = f
	}
}

// SetOnLandedWait makes a query call f when, after its evaluation, it waits for the
// states of scrapes that appended to the histories it read since it checked the states.
func SetOnLandedWait(s *Server, f func()) { s.onLandedWait = f }

// SetDiscoveryBounds sets how long a Service's discovery through c may fail before its
// answers are warned (warn) and before they are 503 (unavailable). Before a Server
// reads c.
func SetDiscoveryBounds(c *Cache, warn, unavailable time.Duration) {
	c.health.warnAfter, c.health.unavailableAfter = warn, unavailable
}
