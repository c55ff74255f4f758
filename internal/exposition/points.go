package exposition

// Points is what a target's previous exposition gave its series that have several
// samples with timestamps of their own (OpenMetrics allows a series several points,
// each with its timestamp, and a target may expose the same points at every scrape):
// the latest timestamp of each. Given to the Parser of the target's next exposition
// (Parser.SetPoints), it marks the samples of such a series at or before that time
// (Sample.Stored): a store that took the previous exposition has them, or a later one,
// and Prometheus' storage drops them without a word, where an append of each would be
// out of order. Keep one Points per target, used by one parse at a time; the zero value
// knows no series.
type Points struct {
	latest map[uint64]int64 // by series hash, from the previous exposition parsed whole
	next   map[uint64]int64 // the current parse's
}

// note records t as the latest time of the series h in the current parse.
func (pts *Points) note(h uint64, t int64) {
	if pts.next == nil {
		pts.next = map[uint64]int64{}
	}
	if last, ok := pts.next[h]; !ok || t > last {
		pts.next[h] = t
	}
}

// done ends a parse: the series it noted are those the next one knows, when it parsed
// the exposition whole; else the previous ones stay.
func (pts *Points) done(ok bool) {
	if ok {
		pts.latest, pts.next = pts.next, pts.latest
	}
	clear(pts.next)
}
