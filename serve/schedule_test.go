package serve

import (
	"testing"
	"time"
)

// TestScheduleLeadsThePollAfterADemandScrape: after a query's scrape at T, the loop's
// next scrape is an interval on less the lead: half of MaxAge (at most a quarter of the
// interval), plus half the query's scrape's length up to half that again; and from there
// every interval. A scrape that outlasts the interval is followed by one at once, and the
// other ticks it missed are dropped.
func TestScheduleLeadsThePollAfterADemandScrape(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	const ms = time.Millisecond
	for _, c := range []struct {
		name             string
		interval, maxAge time.Duration
		took             time.Duration // the demand scrape's length
		lead             time.Duration
	}{
		{"half of max-age", time.Second, 300 * ms, 0, 150 * ms},
		{"capped at a quarter interval", time.Second, 900 * ms, 0, 250 * ms},
		{"the benchmark's: max-age half the interval", time.Second, 500 * ms, 2 * ms, 251 * ms},
		{"max-age over the interval", 15 * time.Second, time.Minute, 0, 3750 * ms},
		{"no max-age", 15 * time.Second, 0, 0, 0},
		// A scrape lasting up to half of MaxAge: it ends as long before the poll as
		// MaxAge is after its start.
		{"a scrape of a fifth of max-age", 15 * time.Second, 2 * time.Second, 400 * ms, 1200 * ms},
		{"a scrape of half max-age", 15 * time.Second, 2 * time.Second, time.Second, 1500 * ms},
		// Longer: it starts 3/4 of MaxAge before the poll, a quarter of MaxAge kept for
		// a poll that comes late; past 3/4 of MaxAge the poll joins it under way.
		{"a scrape of 0.7 max-age", 15 * time.Second, 2 * time.Second, 1400 * ms, 1500 * ms},
		{"a scrape longer than max-age", 15 * time.Second, 2 * time.Second, 7 * time.Second, 1500 * ms},
		{"a slow scrape, max-age over the interval", time.Second, 2 * time.Second, 200 * ms, 350 * ms},
		{"a slow scrape, capped at 3/8 interval", time.Second, 2 * time.Second, 900 * ms, 375 * ms},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := newSchedule(t0, c.interval, c.maxAge)
			if want := t0.Add(c.interval); !s.next.Equal(want) {
				t.Fatalf("first next %v, want %v", s.next, want)
			}
			s.scraped(s.next.Add(10 * ms))
			if want := t0.Add(2 * c.interval); !s.next.Equal(want) {
				t.Fatalf("after the loop's scrape: next %v, want %v (the phase kept)", s.next, want)
			}
			demand := t0.Add(2*c.interval + c.interval*3/5)
			s.demanded(demand, c.took)
			if want := demand.Add(c.interval - c.lead); !s.next.Equal(want) {
				t.Fatalf("after a demand scrape at %v lasting %s: next %v, want %v (an interval on, less a lead of %v)", demand, c.took, s.next, want, c.lead)
			}
			at := s.next
			s.scraped(at.Add(c.took))
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

// TestMergedWantsKeepTheEarliestPoll: the loop re-phases on the earliest query under
// MaxAge that a scrape was taken or waited for; the loop's own tick, merged in, is not
// a poll.
func TestMergedWantsKeepTheEarliestPoll(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	var w scrapeWork
	tick := func(at time.Duration) want { return want{asked: t0.Add(at), maxAge: time.Second, tick: true} }
	poll := func(at time.Duration) want { return want{asked: t0.Add(at), maxAge: time.Second, demand: true} }
	for _, c := range []struct {
		name string
		got  want
		want time.Time
	}{
		{"a poll alone", poll(time.Second), t0.Add(time.Second)},
		{"a tick alone", tick(time.Second), time.Time{}},
		{"a later tick joining a poll", w.Merge(poll(time.Second), tick(2*time.Second)), t0.Add(time.Second)},
		{"a later poll joining a tick", w.Merge(tick(time.Second), poll(2*time.Second)), t0.Add(2 * time.Second)},
		{"polls, the later first", w.Merge(w.Merge(poll(3*time.Second), poll(2*time.Second)), tick(4*time.Second)), t0.Add(2 * time.Second)},
		{"polls, a tick between", w.Merge(w.Merge(poll(2*time.Second), tick(3*time.Second)), poll(4*time.Second)), t0.Add(2 * time.Second)},
		{"ticks", w.Merge(tick(time.Second), tick(2*time.Second)), time.Time{}},
	} {
		if got := c.got.pollTime(); !got.Equal(c.want) {
			t.Errorf("%s: poll time %v, want %v", c.name, got, c.want)
		}
	}
}
