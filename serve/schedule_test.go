package serve

import (
	"testing"
	"time"
)

// TestScheduleLeadsThePollAfterADemandScrape: after a query's scrape at T, the loop's
// next scrape is an interval on less the lead (half of MaxAge, at most a quarter of the
// interval), and from there every interval; a scrape that outlasts the interval is
// followed by one at once, and the other ticks it missed are dropped.
func TestScheduleLeadsThePollAfterADemandScrape(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name             string
		interval, maxAge time.Duration
		lead             time.Duration
	}{
		{"half of max-age", time.Second, 300 * time.Millisecond, 150 * time.Millisecond},
		{"capped at a quarter interval", time.Second, 900 * time.Millisecond, 250 * time.Millisecond},
		{"the benchmark's: max-age half the interval", time.Second, 500 * time.Millisecond, 250 * time.Millisecond},
		{"max-age over the interval", 15 * time.Second, time.Minute, 3750 * time.Millisecond},
		{"no max-age", 15 * time.Second, 0, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := newSchedule(t0, c.interval, c.maxAge)
			if want := t0.Add(c.interval); !s.next.Equal(want) {
				t.Fatalf("first next %v, want %v", s.next, want)
			}
			s.scraped(s.next.Add(10 * time.Millisecond))
			if want := t0.Add(2 * c.interval); !s.next.Equal(want) {
				t.Fatalf("after the loop's scrape: next %v, want %v (the phase kept)", s.next, want)
			}
			demand := t0.Add(2*c.interval + c.interval*3/5)
			s.demanded(demand)
			if want := demand.Add(c.interval - c.lead); !s.next.Equal(want) {
				t.Fatalf("after a demand scrape at %v: next %v, want %v (an interval on, less a lead of %v)", demand, s.next, want, c.lead)
			}
			at := s.next
			s.scraped(at.Add(10 * time.Millisecond))
			if want := at.Add(c.interval); !s.next.Equal(want) {
				t.Fatalf("the new phase: next %v, want %v", s.next, want)
			}
		})
	}

	// A scrape that outlasts the interval is followed by the next at once, as a
	// time.Ticker keeps one tick for a busy receiver: once, never more, on the phase.
	s := newSchedule(t0, time.Second, 0)
	s.scraped(t0.Add(time.Second)) // the scrape due at 1 s started then, and ended at 3.5 s
	if want := t0.Add(2 * time.Second); !s.next.Equal(want) {
		t.Errorf("after a scrape that outlasted two intervals: next %v, want %v (due already: at once)", s.next, want)
	}
	s.scraped(t0.Add(3500 * time.Millisecond)) // that one, due at 2 s, started at 3.5 s
	if want := t0.Add(4 * time.Second); !s.next.Equal(want) {
		t.Errorf("after the scrape that caught up: next %v, want %v (the ticks missed dropped, the phase kept)", s.next, want)
	}
	s.scraped(t0.Add(5 * time.Second)) // the scrape due at 4 s started on the next tick
	if want := t0.Add(6 * time.Second); !s.next.Equal(want) {
		t.Errorf("after a scrape that started on the next tick: next %v, want %v", s.next, want)
	}
}
