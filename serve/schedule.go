package serve

import "time"

// schedule is when a Service's loop scrapes next. The loop scrapes every interval, on the
// phase its first scrape set, until a query under MaxAge takes a scrape, or waits for
// the loop's under way (a demand): then its next scrape comes an interval after that
// query, less a lead, and its phase follows from there.
//
// The lead is why. An autoscaler polls on a period of its own (the HPA every 15 s, KEDA
// every pollingInterval), so its polls keep one phase against the loop's. When that phase
// puts a poll more than MaxAge after the loop's scrape, the poll scrapes and waits for
// it; a loop that kept its phase would then scrape again just after each poll and never
// be fresh enough for the next one, so every poll would wait for the pods. Starting a
// scrape the lead before the poll's next turn (an interval on) instead answers that poll
// from the loop's scrape, when the scrape has ended by then and started at most MaxAge
// before: a lead between the scrape's length and MaxAge.
//
// The lead's base is half of MaxAge, at most a quarter of the interval: the middle of
// the times a scrape lasting no time answers the poll from. A scrape lasting longer than
// the base that started the base before the poll would still be under way when the poll
// came, and the poll would wait for the rest of it; so half the demand's scrape's length
// is added, up to half the base. That puts a scrape lasting up to the base in the middle
// of the times it answers the poll from: with a base of MaxAge/2, it ends (MaxAge -
// length)/2 before the poll, and starts as long after MaxAge before it. A longer one
// starts no earlier: a poll more than MaxAge after the loop's scrape started scrapes and
// waits for the whole of its own scrape (an autoscaler's period drifts late by its own
// work), so a quarter of MaxAge is kept for that. A scrape lasting more than 3/4 of
// MaxAge is still under way when the poll comes, which waits for the rest of it (less
// than with the base alone). The lead is at most three eighths of the interval, so the
// loop's scrapes stay five eighths of an interval or more apart.
type schedule struct {
	interval, base time.Duration
	next           time.Time // the next scrape's time
}

// newSchedule returns the schedule of a loop whose first scrape was at first.
func newSchedule(first time.Time, interval, maxAge time.Duration) schedule {
	return schedule{interval: interval, base: max(0, min(maxAge/2, interval/4)), next: first.Add(interval)}
}

// lead returns how long before the poll's next turn the loop scrapes after a demand
// whose scrape lasted took.
func (s *schedule) lead(took time.Duration) time.Duration {
	return s.base + max(0, min(took, s.base))/2
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

// demand is a scrape a query under MaxAge took or waited for, as the schedule re-phases
// on it: when the query asked (the poll's time, for a poll: the scrape starts then, or
// was under way already) and how long the scrape lasted.
type demand struct {
	asked time.Time
	took  time.Duration
}

// demanded re-phases the schedule after a scrape that a query asking at asked took or
// waited for, and that lasted took.
func (s *schedule) demanded(asked time.Time, took time.Duration) {
	s.next = asked.Add(s.interval - s.lead(took))
}
