package serve

import "time"

// schedule is when a Service's loop scrapes next. The loop scrapes every interval, on the
// phase its first scrape set, until a query takes a scrape under MaxAge (a demand scrape):
// then its next scrape comes an interval after that one, less a lead, and its phase
// follows from there.
//
// The lead is why. An autoscaler polls on a period of its own (the HPA every 15 s, KEDA
// every pollingInterval), so its polls keep one phase against the loop's. When that phase
// puts a poll more than MaxAge after the loop's scrape, the poll scrapes and waits for
// it; a loop that kept its phase would then scrape again just after each poll and never
// be fresh enough for the next one, so every poll would wait for the pods. Scraping the
// lead before the poll's next turn (an interval on) instead answers that poll from the
// loop's scrape, at most the lead old: half of MaxAge, and at most a quarter of the
// interval so that the loop's scrapes stay three quarters of an interval or more apart.
type schedule struct {
	interval, lead time.Duration
	next           time.Time // the next scrape's time
}

// newSchedule returns the schedule of a loop whose first scrape was at first.
func newSchedule(first time.Time, interval, maxAge time.Duration) schedule {
	return schedule{interval: interval, lead: max(0, min(maxAge/2, interval/4)), next: first.Add(interval)}
}

// scraped moves next on to the first time of the phase after start, when the loop's
// scrape due at next started. A scrape that outlasted that time (a hung pod holds one
// for the pod timeout, which may be the interval) is followed by the next at once, as
// a time.Ticker keeps the one tick that fired while its receiver was busy and drops the
// others, and as Prometheus' scrape loop does: the loop catches up one scrape, never
// more, and keeps its phase.
func (s *schedule) scraped(start time.Time) {
	s.next = s.next.Add(s.interval)
	if late := start.Sub(s.next); late >= 0 {
		s.next = s.next.Add((late/s.interval + 1) * s.interval)
	}
}

// demanded re-phases the schedule after a query's scrape that started at start.
func (s *schedule) demanded(start time.Time) {
	s.next = start.Add(s.interval - s.lead)
}
