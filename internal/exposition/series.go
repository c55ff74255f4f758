package exposition

import (
	"math"
	"slices"
)

// minSeriesSlots is the smallest table of a seriesSet.
const minSeriesSlots = 1 << 10

// seriesShrinkAfter is how many expositions in a row must leave a seriesSet's table
// oversized (see settle) before it is given back.
const seriesShrinkAfter = 10

// seriesSet detects a series that repeats within one exposition, so that the Parser
// keeps its first sample and drops and counts the repeat, as Prometheus' scrape loop
// does (it appends the first and counts the repeat as ErrDuplicateSampleForTimestamp;
// the scrape does not fail). A series is identified by a 64-bit hash of its name and its
// set of label pairs in any order, as stored (unescaped, le and quantile rewritten): the
// hash of the name plus the sum of the hashes of the pairs. Two different series are
// mistaken for one with a probability of about 2^-64 per pair of series; this is
// accepted rather than keeping every label set to compare.
//
// The hashes are kept in an open-addressing table (linear probing, at most half full),
// which is cheaper than a map for this one use and is cleared, not reallocated, between
// expositions.
//
// Once a line has a timestamp of its own, the set also keeps, per series, the time of
// its latest sample passed on, so that a repeat with a later timestamp of its own is
// passed on too, as Prometheus stores it.
type seriesSet struct {
	slots     []uint64 // 0 is an empty slot; a hash of 0 is stored as 1
	times     []int64  // by slot: the series' latest time, noTimestamp for the scrape's; nil while no line had a timestamp
	n         int      // hashes held
	oversized int      // expositions in a row that left the table oversized (see settle)
}

// noTimestamp is the time held for a series whose sample has no timestamp of its own.
const noTimestamp = math.MinInt64

// reset forgets the series of the previous exposition and keeps the table.
func (s *seriesSet) reset() {
	if s.n > 0 {
		clear(s.slots)
		s.n = 0
	}
	s.times = s.times[:0]
}

// settle ends an exposition: a table more than eight times the size the exposition
// needed, for seriesShrinkAfter expositions in a row, is given back, and the next
// exposition grows its own. Parsers are pooled and live as long as their source: one
// exposition of a million series (a label's cardinality blowing up until a rollout fixes
// it) would otherwise leave each Parser it went through holding 16 MiB, cleared at every
// later parse, for good. A table sized for its expositions (at most four times their
// series) is never given back, and neither is one that a large exposition among small
// ones (pods of several sizes sharing the Parser) keeps using.
func (s *seriesSet) settle() {
	if len(s.slots) <= minSeriesSlots || len(s.slots) <= 8*(s.n+1) {
		s.oversized = 0
		return
	}
	if s.oversized++; s.oversized >= seriesShrinkAfter {
		s.slots, s.times, s.n, s.oversized = nil, nil, 0, 0
	}
}

// add records a series hash and reports whether it is new.
func (s *seriesSet) add(h uint64) bool {
	_, isNew := s.insert(h)
	return isNew
}

// insert records a series hash and returns its slot and whether it is new.
func (s *seriesSet) insert(h uint64) (int, bool) {
	if h == 0 {
		h = 1
	}
	if 2*(s.n+1) > len(s.slots) {
		s.grow()
	}
	mask := uint64(len(s.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask { // h is a hash already
		switch s.slots[i] {
		case 0:
			s.slots[i] = h
			s.n++
			if len(s.times) > 0 {
				s.times[i] = noTimestamp
			}
			return int(i), true
		case h:
			return int(i), false
		}
	}
}

// addAtLatest records a series hash whose sample has the timestamp t of its own (hasTS)
// or none, and reports whether the series is new and whether to pass the sample on: a
// new series, or a repeat with a timestamp of its own later than the series' latest
// (scrape for a sample without one), which becomes its latest. latest is the series'
// latest time once t is recorded (when hasTS).
func (s *seriesSet) addAtLatest(h uint64, t int64, hasTS bool, scrape int64) (isNew, pass bool, latest int64) {
	i, isNew := s.insert(h)
	if !hasTS {
		return isNew, isNew, 0
	}
	if len(s.times) == 0 {
		s.times = untimed(s.times, len(s.slots))
	}
	if !isNew {
		latest := s.times[i]
		if latest == noTimestamp {
			latest = scrape
		}
		if t <= latest {
			return false, false, latest
		}
	}
	s.times[i] = t
	return isNew, true, t
}

// untimed returns n times of series without a timestamp of their own, in buf's room
// when it has enough.
func untimed(buf []int64, n int) []int64 {
	buf = slices.Grow(buf[:0], n)[:n]
	for j := range buf {
		buf[j] = noTimestamp
	}
	return buf
}

func (s *seriesSet) grow() {
	old, oldTimes := s.slots, s.times
	s.slots = make([]uint64, max(2*len(old), minSeriesSlots))
	s.n = 0
	if len(oldTimes) > 0 {
		s.times = untimed(nil, len(s.slots))
	}
	for k, h := range old {
		if h != 0 {
			i, _ := s.insert(h)
			if len(oldTimes) > 0 {
				s.times[i] = oldTimes[k]
			}
		}
	}
}

// retained returns the bytes the set keeps between expositions.
func (s *seriesSet) retained() int { return 8*cap(s.slots) + 8*cap(s.times) }

// pairHash combines the hashes of a label's name and value into the label's hash, so
// that a="bc" and ab="c" differ.
func pairHash(name, value uint64) uint64 {
	return mix64(name*0x9E3779B97F4A7C15 + value)
}

// mix64 is the splitmix64 finaliser: it spreads every input bit over the output.
func mix64(z uint64) uint64 {
	z = (z ^ z>>30) * 0xBF58476D1CE4E5B9
	z = (z ^ z>>27) * 0x94D049BB133111EB
	return z ^ z>>31
}
