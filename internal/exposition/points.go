package exposition

// Points is what a target's previous exposition gave its series that have several
// samples with timestamps of their own (OpenMetrics allows a series several points,
// each with its timestamp, and a target may expose the same points at every scrape):
// the latest timestamp of each. Given to the Parser of the target's next exposition
// (Parser.SetPoints), it marks the samples of such a series at or before that time
// (Sample.Stored): a store that took the previous exposition has them, or a later one,
// and Prometheus' storage drops them without a word, where an append of each would be
// out of order. What a parse notes counts from Commit on, which the caller calls once the
// parse's samples reached its store: a parse whose samples were never stored (its
// scrape failed after it, or was given up) leaves the Points as they were, and the next
// parse passes those points on unmarked. Keep one Points per target, used by one parse
// at a time; the zero value knows no series.
type Points struct {
	latest map[uint64]int64 // by series hash, from the previous exposition parsed whole and committed
	next   map[uint64]int64 // the current parse's, or the last one's until Commit
	// pending says next holds a parse that read its exposition whole, not committed yet.
	pending bool
	// The most series latest and next have held since they were made: a Go map keeps
	// the room of the most it held.
	latestPeak, nextPeak int
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

// begin starts a parse: what a parse before it noted and no Commit took is dropped.
func (pts *Points) begin() {
	if pts.pending {
		pts.pending = false
		pts.settle()
	}
}

// done ends a parse: when it parsed the exposition whole, the series it noted wait for
// Commit; else they are dropped and the previous ones stay.
func (pts *Points) done(ok bool) {
	pts.nextPeak = max(pts.nextPeak, len(pts.next))
	pts.pending = ok
	if !ok {
		pts.settle()
	}
}

// Commit makes the series the latest parse noted, when it parsed its exposition whole,
// those the next parse knows: call it once that parse's samples are stored. Without a
// parse to commit (none, one that failed, one committed already) it does nothing.
func (pts *Points) Commit() {
	if !pts.pending {
		return
	}
	pts.pending = false
	pts.latest, pts.next = pts.next, pts.latest
	pts.latestPeak, pts.nextPeak = pts.nextPeak, pts.latestPeak
	pts.settle()
}

// settle empties next for the next parse. It is kept, emptied; but one that has held far
// more series than the target now gives is given back instead: a Go map never shrinks,
// and a target that once exposed 200,000 series of several points would keep their room
// (4.5 MiB) for as long as it lives.
func (pts *Points) settle() {
	if pts.nextPeak > 4*len(pts.latest)+minPointsRoom {
		pts.next, pts.nextPeak = nil, 0
		return
	}
	clear(pts.next)
}

// minPointsRoom is the room for series the map Points reuses keeps whatever the target
// gives.
const minPointsRoom = 1024
