package history

import (
	"context"
	"encoding/binary"
	"math"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/util/annotations"
)

// querier reads a store over [mint, maxt], as storage.Querier. All its Selects see the
// appends committed when it was made (see store's Isolation). Close releases what the
// store keeps for it.
type querier struct {
	s          *store
	mint, maxt int64
	lookback   int64 // ms: its queries' lookback delta (instantSelect)
	epoch      uint64
	closed     atomic.Bool
}

var _ storage.Querier = (*querier)(nil)

// Querier implements storage.Queryable, for queries that look back the store's lookback
// delta.
func (s *store) Querier(mint, maxt int64) (storage.Querier, error) {
	return s.querier(mint, maxt, s.lookback), nil
}

// querier returns a querier over [mint, maxt] for queries that look back lookback ms.
func (s *store) querier(mint, maxt, lookback int64) *querier {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return &querier{s: s, mint: mint, maxt: maxt, lookback: lookback, epoch: s.open()}
}

// Select returns the series matching ms that have samples in the querier's range (and the
// hints' Start and End, when given), sorted by labels if sortSeries is set.
func (q *querier) Select(ctx context.Context, sortSeries bool, hints *storage.SelectHints, ms ...*labels.Matcher) storage.SeriesSet {
	if err := ctx.Err(); err != nil {
		return storage.ErrSeriesSet(err)
	}
	start, end := q.mint, q.maxt
	if hints != nil && hints.End >= hints.Start {
		start, end = max(start, hints.Start), min(end, hints.End)
	}
	var out []*seriesSnapshot
	latestOnly := q.instantSelect(hints)
	q.s.mu.RLock()
	cands, all := q.s.postings.matching(ms)
	sl := slab{series: len(cands)}
	if len(cands) <= slabLen {
		sl.reserve(cands, latestOnly)
	}
	for _, m := range cands {
		if !all && !matchesAll(m.lset, ms) {
			continue
		}
		var snap *seriesSnapshot
		done := false
		if latestOnly {
			snap, done = q.latest(m, start, end, &sl)
		}
		if !done {
			snap = q.snapshot(m, start, end, &sl)
		}
		if snap != nil {
			out = append(out, snap)
		}
	}
	q.s.mu.RUnlock()
	if sortSeries {
		slices.SortFunc(out, func(a, b *seriesSnapshot) int { return labels.Compare(a.lset, b.lset) })
	}
	if hints != nil && hints.Limit > 0 && len(out) > hints.Limit {
		out = out[:hints.Limit]
	}
	return &seriesSet{series: out, i: -1}
}

// snapshot returns ms' chunks that overlap [start, end] as of the querier's epoch, or nil
// if none does. Complete chunks never change and are shared; the head chunk is copied,
// as appends after the caller releases the store's mu extend it, with the count of the
// samples the epoch sees in its header. The caller holds the store's mu.
func (q *querier) snapshot(ms *memSeries, start, end int64, sl *slab) *seriesSnapshot {
	visible := ms.visibleT(q.epoch)
	end = min(end, visible)
	chunks := sl.chunks(len(ms.chunks) + 1)
	for _, c := range ms.chunks {
		if c.maxT < start || c.minT > end {
			continue
		}
		if c.maxT <= visible {
			chunks = append(chunks, c.chunk)
			continue
		}
		// Samples newer than the epoch were appended to it before it was complete.
		b := sl.clone(c.chunk.Bytes())
		binary.BigEndian.PutUint16(b, uint16(countTo(c.chunk, visible)))
		chunks = append(chunks, sl.chunk(b))
	}
	if h := &ms.head; h.n > 0 && h.t >= start && ms.headMinT <= end {
		// An XOR chunk's first two bytes are its sample count; its iterator reads no
		// further than that.
		b := sl.clone(h.b)
		binary.BigEndian.PutUint16(b, h.n)
		c := sl.chunk(b)
		if h.t > visible {
			binary.BigEndian.PutUint16(b, uint16(countTo(c, visible)))
		}
		chunks = append(chunks, c)
	}
	if len(chunks) == 0 {
		return nil
	}
	return sl.snapshot(ms.lset, chunks)
}

// instantSelect reports whether hints are those promql.Engine.populateSeries gives an
// instant query's instant vector selector: no step (a range query, or a subquery, has
// one), no range (a range function's selector has one), from the query's lookback delta
// back, less a millisecond, to End (a smoothed selector's End is a lookback delta later,
// a subquery's Start a range earlier). info's Selects have a step (its evaluation
// interval: 1 in an instant query); a series-only Select (Func "series") that matches
// reads the same series either way. The engine
// evaluates such a selector at End alone, and of each series reads only the latest
// sample at or before End: the selector's value, unless it is stale or older than the
// lookback delta. TestInstantSelectGate holds this against the engine's own hints.
func (q *querier) instantSelect(hints *storage.SelectHints) bool {
	return hints != nil && hints.Step == 0 && hints.Range == 0 && hints.End-hints.Start == q.lookback-1
}

// latest is snapshot for an instant selector (instantSelect): ms' latest sample if it
// is at or after start, nil if it is older; done is false when the latest sample at or
// before end is not the head's last (a later one, or one the querier's epoch does not
// see), for snapshot to answer. The caller holds the store's mu.
func (q *querier) latest(ms *memSeries, start, end int64, sl *slab) (snap *seriesSnapshot, done bool) {
	h := &ms.head
	if h.n == 0 || h.t > end || ms.visibleT(q.epoch) != h.t {
		return nil, false
	}
	if h.t < start {
		return nil, true
	}
	chunks := sl.chunks(1)
	return sl.snapshot(ms.lset, append(chunks, sl.chunk(sl.oneSample(h.t, h.v)))), true
}

// countTo returns how many of c's samples are at or before t.
func countTo(c chunkenc.Chunk, t int64) int {
	n := 0
	for it := c.Iterator(nil); it.Next() == chunkenc.ValFloat && it.AtT() <= t; {
		n++
	}
	return n
}

// slab is where one Select's snapshots take their memory from: a few large allocations
// instead of several per series (snapshot struct, chunk list, bytes of the open chunk).
// What it hands out is never written again once the snapshot is made.
type slab struct {
	snaps  []seriesSnapshot
	list   []chunkenc.Chunk
	bytes  []byte
	xors   []chunkenc.XORChunk
	series int // the Select's candidate series: at most one snapshot and head chunk each
}

const slabLen = 256 // snapshots (and chunk list entries) per allocation

// items returns the length of a new allocation of snapshots or chunks: slabLen, or fewer
// when the Select has fewer candidates (a Select of two series does not take 256).
func (sl *slab) items() int {
	if sl.series > 0 {
		return min(sl.series, slabLen)
	}
	return slabLen
}

// chunks returns an empty chunk list with room for n chunks. A new allocation has room
// for as many lists of n as items allows.
func (sl *slab) chunks(n int) []chunkenc.Chunk {
	if cap(sl.list)-len(sl.list) < n {
		sl.list = make([]chunkenc.Chunk, 0, n*sl.items())
	}
	l := sl.list[len(sl.list) : len(sl.list) : len(sl.list)+n]
	sl.list = sl.list[:len(sl.list)+n]
	return l
}

// slabBytes is the size of a Select's byte allocations beyond what reserve reserved.
const slabBytes = slabLen * 128

// oneSampleBytes is the most bytes oneSample takes.
const oneSampleBytes = 2 + binary.MaxVarintLen64 + 8

// reserve allocates the bytes a Select of cands will copy in the common case: each
// candidate's head chunk, or its one-sample chunk for an instant selector (latestOnly),
// so a Select of a few series does not take slabBytes; and never more than slabBytes
// (candidates that do not match may be many). What does not fit (a complete chunk that
// the querier's epoch sees only part of: samples appended while the query began) is
// copied into further allocations. The caller holds the store's mu.
func (sl *slab) reserve(cands []*memSeries, latestOnly bool) {
	need := 0
	if latestOnly {
		need = len(cands) * oneSampleBytes
	} else {
		for _, m := range cands {
			need += len(m.head.b)
		}
	}
	if need > 0 {
		sl.bytes = make([]byte, 0, min(need, slabBytes))
	}
}

// clone returns a copy of b.
func (sl *slab) clone(b []byte) []byte {
	if cap(sl.bytes)-len(sl.bytes) < len(b) {
		sl.bytes = make([]byte, 0, max(slabBytes, len(b)))
	}
	n := len(sl.bytes)
	sl.bytes = append(sl.bytes, b...)
	return sl.bytes[n:len(sl.bytes):len(sl.bytes)]
}

// oneSample returns the bytes of an XOR chunk of the one sample (t, v): its count, t as a
// varint and v's 64 bits, as chunkenc (and xorAppender) write a chunk's first sample.
func (sl *slab) oneSample(t int64, v float64) []byte {
	var b [oneSampleBytes]byte
	binary.BigEndian.PutUint16(b[:], 1)
	n := 2 + binary.PutVarint(b[2:], t)
	binary.BigEndian.PutUint64(b[n:], math.Float64bits(v))
	return sl.clone(b[:n+8])
}

// chunk returns an XOR chunk of b.
func (sl *slab) chunk(b []byte) *chunkenc.XORChunk {
	if len(sl.xors) == cap(sl.xors) {
		sl.xors = make([]chunkenc.XORChunk, 0, sl.items())
	}
	sl.xors = append(sl.xors, chunkenc.XORChunk{})
	c := &sl.xors[len(sl.xors)-1]
	c.Reset(b)
	return c
}

// snapshot returns a snapshot of lset and chunks.
func (sl *slab) snapshot(lset labels.Labels, chunks []chunkenc.Chunk) *seriesSnapshot {
	if len(sl.snaps) == cap(sl.snaps) {
		sl.snaps = make([]seriesSnapshot, 0, sl.items())
	}
	sl.snaps = append(sl.snaps, seriesSnapshot{lset: lset, chunks: chunks})
	return &sl.snaps[len(sl.snaps)-1]
}

// LabelValues returns the values of name on the series matching ms with samples in the
// querier's range, sorted.
func (q *querier) LabelValues(ctx context.Context, name string, hints *storage.LabelHints, ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	seen := map[string]struct{}{}
	q.eachSeries(ms, func(lset labels.Labels) {
		if v := lset.Get(name); v != "" {
			seen[v] = struct{}{}
		}
	})
	return sortedLimited(seen, hints), nil, nil
}

// LabelNames returns the label names of the series matching ms with samples in the
// querier's range, sorted.
func (q *querier) LabelNames(ctx context.Context, hints *storage.LabelHints, ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	seen := map[string]struct{}{}
	q.eachSeries(ms, func(lset labels.Labels) {
		lset.Range(func(l labels.Label) { seen[l.Name] = struct{}{} })
	})
	return sortedLimited(seen, hints), nil, nil
}

// eachSeries calls f with the labels of every series matching ms that has samples in the
// querier's range.
func (q *querier) eachSeries(ms []*labels.Matcher, f func(labels.Labels)) {
	q.s.mu.RLock()
	defer q.s.mu.RUnlock()
	cands, all := q.s.postings.matching(ms)
	for _, m := range cands {
		if m.empty() || m.visibleT(q.epoch) < max(q.mint, m.minT()) || m.minT() > q.maxt || !all && !matchesAll(m.lset, ms) {
			continue
		}
		f(m.lset)
	}
}

// Close implements storage.Querier: appends stop keeping what it reads. Series it
// returned stay readable. A second Close does nothing.
func (q *querier) Close() error {
	if q.closed.CompareAndSwap(false, true) {
		q.s.release(q.epoch)
	}
	return nil
}

func matchesAll(lset labels.Labels, ms []*labels.Matcher) bool {
	for _, m := range ms {
		if !m.Matches(lset.Get(m.Name)) {
			return false
		}
	}
	return true
}

func sortedLimited(set map[string]struct{}, hints *storage.LabelHints) []string {
	out := make([]string, 0, len(set))
	for v := range set {
		out = append(out, v)
	}
	slices.SortFunc(out, strings.Compare)
	if hints != nil && hints.Limit > 0 && len(out) > hints.Limit {
		out = out[:hints.Limit]
	}
	return out
}

// seriesSet is the result of a Select.
type seriesSet struct {
	series []*seriesSnapshot
	i      int
}

func (s *seriesSet) Next() bool {
	s.i++
	return s.i < len(s.series)
}

func (s *seriesSet) At() storage.Series              { return s.series[s.i] }
func (*seriesSet) Err() error                        { return nil }
func (*seriesSet) Warnings() annotations.Annotations { return nil }

// pairWithin is History.PairWithin over [mint, maxt], as of the querier's epoch. It reads
// the matching series in place, one at a time with the store's read lock held, and stops
// at the first pair: the check runs before every evaluation of a rate, and a Select would
// first copy out every matching series (200 pods' for an autoscaler's query).
func (q *querier) pairWithin(ms []*labels.Matcher, mint, maxt, rng int64, fits func(a, b int64) bool) (pair, live bool) {
	q.s.mu.RLock()
	defer q.s.mu.RUnlock()
	var it chunkenc.Iterator
	var head []byte
	var c chunkenc.XORChunk
	cands, all := q.s.postings.matching(ms)
	for _, m := range cands {
		if !all && !matchesAll(m.lset, ms) {
			continue
		}
		w := pairWalk{mint: mint, end: min(maxt, m.visibleT(q.epoch)), rng: rng, fits: fits, prev: math.MinInt64}
		for _, mc := range m.chunks {
			if mc.maxT < mint || mc.minT > w.end {
				continue
			}
			it = mc.chunk.Iterator(it)
			if w.walk(it) {
				return true, true
			}
		}
		if h := &m.head; h.n > 0 && h.t >= mint && m.headMinT <= w.end {
			// The open chunk's first two bytes are not its count (snapshot): a copy of it
			// with the count, reused from series to series.
			head = append(head[:0], h.b...)
			binary.BigEndian.PutUint16(head, h.n)
			c.Reset(head)
			it = c.Iterator(it)
			if w.walk(it) {
				return true, true
			}
		}
		live = live || w.prev != math.MinInt64 && !value.IsStaleNaN(w.last)
	}
	return false, live
}

// pairWalk walks one series' samples for pairWithin, chunk by chunk.
type pairWalk struct {
	mint, end, rng int64
	fits           func(a, b int64) bool // nil: any pair less than rng apart
	prev           int64                 // the last sample's time that was a value; math.MinInt64: none yet
	last           float64               // the last sample's value, staleness markers included
}

// walk reads it's float samples in [mint, end] and reports whether two values (not
// staleness markers) among those walked so far are less than rng apart.
func (w *pairWalk) walk(it chunkenc.Iterator) bool {
	for it.Next() == chunkenc.ValFloat {
		t, v := it.At()
		if t < w.mint {
			continue
		}
		if t > w.end {
			return false
		}
		w.last = v
		if value.IsStaleNaN(v) {
			continue
		}
		if w.prev != math.MinInt64 && t-w.prev < w.rng && (w.fits == nil || w.fits(w.prev, t)) {
			return true
		}
		w.prev = t
	}
	return false
}

// firstWithin is History.FirstSample over [mint, maxt], as of the querier's epoch, read
// in place as pairWithin reads.
func (q *querier) firstWithin(ms []*labels.Matcher, mint, maxt int64) (int64, bool) {
	q.s.mu.RLock()
	defer q.s.mu.RUnlock()
	var it chunkenc.Iterator
	var head []byte
	var c chunkenc.XORChunk
	best := int64(math.MaxInt64)
	cands, all := q.s.postings.matching(ms)
	for _, m := range cands {
		if !all && !matchesAll(m.lset, ms) {
			continue
		}
		end := min(maxt, m.visibleT(q.epoch))
		// values reads it's values in [mint, end] until the series' second one (done),
		// or one past end, or a first one no older than best.
		first, n := int64(0), 0
		values := func(it chunkenc.Iterator) (done bool) {
			for it.Next() == chunkenc.ValFloat {
				t, v := it.At()
				if t < mint || value.IsStaleNaN(v) {
					continue
				}
				if t > end || n == 0 && t >= best {
					return true
				}
				if n == 0 {
					first = t
				}
				if n++; n == 2 {
					return true
				}
			}
			return false
		}
		done := false
		for _, mc := range m.chunks {
			if mc.maxT < mint {
				continue
			}
			if mc.minT > end || n == 0 && mc.minT >= best {
				done = true
				break
			}
			it = mc.chunk.Iterator(it)
			if done = values(it); done {
				break
			}
		}
		if h := &m.head; !done && h.n > 0 && h.t >= mint && m.headMinT <= end && (n > 0 || m.headMinT < best) {
			// The open chunk's first two bytes are not its count (snapshot): a copy of it
			// with the count.
			head = append(head[:0], h.b...)
			binary.BigEndian.PutUint16(head, h.n)
			c.Reset(head)
			it = c.Iterator(it)
			values(it)
		}
		if n == 2 {
			best = first
		}
	}
	return best, best != math.MaxInt64
}
