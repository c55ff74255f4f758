package history

import (
	"math"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

// samplesPerChunk is where a chunk is cut whatever its time span: Prometheus' head cuts
// at 120 samples, where XOR compression stops gaining.
const samplesPerChunk = 120

// store is the series of a History in memory: per series its labels and its samples in
// XOR chunks of up to samplesPerChunk samples, and a postings index from label name and
// value to series.
//
// # Isolation
//
// Every History.Append is one epoch: it holds mu for writing throughout and numbers its
// samples with the next epoch. A querier reads the epoch when it is made and, in every
// Select, only the samples of that epoch and before, so a query sees whole appends and
// the same ones in all its selectors, as Prometheus' head isolation gives. While queriers
// are open, each series keeps where it stood at the end of each epoch they may read
// (memSeries.hist, at most maxHist of them); with none open it keeps nothing.
type store struct {
	qmu    sync.Mutex     // protects active
	active map[uint64]int // open queriers by epoch

	mu       sync.RWMutex          // protects everything below, and every memSeries' fields
	epoch    uint64                // the newest append's
	low      uint64                // the oldest epoch an open querier reads, as of the newest append
	byHash   map[uint64]*memSeries // by label hash: the first of a chain (memSeries.next) for the rare collision
	peak     int                   // the most series held since byHash was made: Go maps never shrink
	postings postings
	minTime  int64 // ms of the oldest sample held; math.MaxInt64 when empty
	lookback int64 // ms: the lookback delta of Querier's queries (instantSelect)
}

// memSeries is one series: its labels and samples, in complete chunks that never change
// again, oldest first, then the head chunk, which appends extend.
type memSeries struct {
	lset     labels.Labels
	chunks   []memChunk  // complete, oldest first
	head     xorAppender // the chunk appended to; head.n == 0: none
	headMinT int64       // ms of head's first sample
	epoch    uint64      // of the newest sample
	hist     *[]epochT   // newest at the end of earlier epochs open queriers read, oldest first; nil: none (a pointer: most series have none, and 16 bytes less fit a smaller size class)
	next     *memSeries  // the next series of the same label hash (store.byHash)
	// The target that exposed the series last, while it still exposes it (nil once gone
	// stale), and what the staleness sweep needs of it: History.mu guards these.
	owner  *targetSeries
	gen    uint64 // the owner's scrape that last exposed it (targetSeries.gen)
	dead   bool   // dropped by retention: a holder of the pointer must look it up again
	ownTS  bool   // its latest sample carried its own timestamp: never marked stale
	listed bool   // kept by the sweep under way (targetSeries.markStale)
}

// newest returns the time of ms' newest sample, the head's last; math.MinInt64 before
// the first. (A series with samples always has some in its head: a head is cut only by
// the append that starts the next.)
func (ms *memSeries) newest() int64 {
	if ms.head.n == 0 {
		return math.MinInt64
	}
	return ms.head.t
}

// empty reports whether ms holds no sample.
func (ms *memSeries) empty() bool { return ms.head.n == 0 && len(ms.chunks) == 0 }

// minT returns the time of ms' oldest sample. ms must not be empty.
func (ms *memSeries) minT() int64 {
	if len(ms.chunks) > 0 {
		return ms.chunks[0].minT
	}
	return ms.headMinT
}

// epochT is where a series stood at the end of an epoch.
type epochT struct {
	epoch uint64
	lastT int64
}

// epochs returns ms' hist entries; nil when it has none.
func (ms *memSeries) epochs() []epochT {
	if ms.hist == nil {
		return nil
	}
	return *ms.hist
}

// maxHist bounds memSeries.hist: a querier left open longer than that many appends of a
// series (a caller that never closes it) sees that series' samples up to the oldest kept.
const maxHist = 64

// visibleT returns the time of ms' newest sample a querier made at epoch sees;
// math.MinInt64 if none.
func (ms *memSeries) visibleT(epoch uint64) int64 {
	if ms.epoch <= epoch {
		return ms.newest()
	}
	hist := ms.epochs()
	for i := len(hist) - 1; i >= 0; i-- {
		if hist[i].epoch <= epoch {
			return hist[i].lastT
		}
	}
	if len(hist) == maxHist {
		return hist[0].lastT
	}
	return math.MinInt64
}

// record keeps where ms stood before its first sample of the current epoch, for the open
// queriers of earlier epochs. The caller holds the store's mu for writing.
func (s *store) record(ms *memSeries) {
	hist := ms.epochs()
	if s.low >= s.epoch {
		hist = hist[:0]
	} else {
		hist = append(hist, epochT{epoch: ms.epoch, lastT: ms.newest()})
		// Of the entries older than the oldest open querier, only the newest is read.
		k := 0
		for k < len(hist) && hist[k].epoch < s.low {
			k++
		}
		if drop := max(k-1, len(hist)-maxHist); drop > 0 {
			n := copy(hist, hist[drop:])
			hist = hist[:n]
		}
	}
	// A querier open across many appends (a slow query) grew hist to up to maxHist
	// entries, 2 KiB with append's doubling: once it is closed, that room goes, or
	// every series would keep it for good.
	if cap(hist) > shrinkFactor*len(hist)+histRoom {
		if len(hist) == 0 {
			hist = nil
		} else {
			hist = slices.Clone(hist)
		}
	}
	switch {
	case hist == nil:
		ms.hist = nil
	case ms.hist == nil:
		p := new([]epochT)
		*p = hist
		ms.hist = p
	default:
		*ms.hist = hist
	}
}

// histRoom is the room memSeries.hist keeps beyond shrinkFactor times its entries: that
// of the few entries queriers coming and going under a steady load of queries need, so
// that they are not allocated again at each append.
const histRoom = 4

// memChunk is one complete XOR chunk of a series and the times of its first and last
// samples.
type memChunk struct {
	minT, maxT int64
	chunk      *chunkenc.XORChunk
}

func newStore(lookback time.Duration) *store {
	return &store{
		lookback: lookback.Milliseconds(),
		active:   map[uint64]int{},
		byHash:   map[uint64]*memSeries{},
		minTime:  math.MaxInt64,
	}
}

// get returns the series of lset, or nil. The caller holds mu.
func (s *store) get(lset labels.Labels, hash uint64) *memSeries {
	for ms := s.byHash[hash]; ms != nil; ms = ms.next {
		if labels.Equal(ms.lset, lset) {
			return ms
		}
	}
	return nil
}

// holds reports whether a series matching ms has a sample.
func (s *store) holds(ms []*labels.Matcher) bool { return s.holdsWhere(ms, nil) }

// holdsWhere reports whether a series matching ms, and keep when not nil, has a sample.
func (s *store) holdsWhere(ms []*labels.Matcher, keep func(labels.Labels) bool) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	cands, all := s.postings.matching(ms)
	for _, m := range cands {
		if !m.empty() && (all || matchesAll(m.lset, ms)) && (keep == nil || keep(m.lset)) {
			return true
		}
	}
	return false
}

// create adds an empty series of lset. The caller holds mu for writing and has checked
// that get returns nil.
func (s *store) create(lset labels.Labels, hash uint64) *memSeries {
	ms := &memSeries{lset: lset}
	ms.next = s.byHash[hash]
	s.byHash[hash] = ms
	s.postings.add(ms)
	s.peak = max(s.peak, s.postings.count)
	return ms
}

// begin starts the epoch of an append. The caller holds mu for writing until the append
// is complete.
func (s *store) begin() {
	s.epoch++
	s.low = s.epoch
	s.qmu.Lock()
	for e := range s.active {
		s.low = min(s.low, e)
	}
	s.qmu.Unlock()
}

// open registers a querier of the current epoch and returns the epoch. The caller holds
// mu, so that no append begins meanwhile.
func (s *store) open() uint64 {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	s.active[s.epoch]++
	return s.epoch
}

// release unregisters a querier of epoch.
func (s *store) release(epoch uint64) {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	if s.active[epoch]--; s.active[epoch] <= 0 {
		delete(s.active, epoch)
	}
}

// numSeries returns the number of series held. The caller holds mu.
func (s *store) numSeries() int { return s.postings.count }

// append adds the sample (t, v) to ms, which must be newer than its newest. The caller
// holds mu for writing.
func (s *store) append(ms *memSeries, t int64, v float64) {
	// Where the series stood before this epoch is recorded before a cut empties its
	// head: recorded after, its newest sample read as none, and an open querier of an
	// earlier epoch lost the whole series.
	if ms.epoch != s.epoch {
		s.record(ms)
		ms.epoch = s.epoch
	}
	if ms.head.n >= samplesPerChunk {
		ms.cut()
	}
	if ms.head.n == 0 {
		ms.head = newXORAppender(chunkCap)
		ms.headMinT = t
	}
	ms.head.append(t, v)
	s.minTime = min(s.minTime, ms.minT())
}

// cut completes ms' head chunk: it joins the chunks that never change again, without its
// spare capacity. The caller holds the store's mu for writing.
func (ms *memSeries) cut() {
	ms.chunks = append(ms.chunks, memChunk{minT: ms.headMinT, maxT: ms.head.t, chunk: complete(&ms.head)})
	ms.head = xorAppender{}
}

// complete returns a's chunk as one that never changes again, without its spare capacity
// beyond chunkenc's Compact's.
func complete(a *xorAppender) *chunkenc.XORChunk {
	b := a.header()
	if cap(b)-len(b) > chunkSlack {
		b = slices.Clone(b)
	}
	c := &chunkenc.XORChunk{}
	c.Reset(b)
	return c
}

// chunkSlack is the spare capacity a complete chunk may keep: chunkenc's Compact's.
const chunkSlack = 32

// chunkCap is the bytes a new chunk starts with. chunkenc.NewXORChunk's 128 is what 120
// changing samples take; a series whose value seldom changes (a histogram's empty
// buckets, a setting) fills about 50 bytes in 120 samples, and appends grow the chunk of
// a series that needs more (one more allocation for it).
const chunkCap = 64

// truncate drops every sample older than mint, and every series left without samples:
// whole chunks, and the older part of a chunk that straddles mint, which is encoded
// anew. The caller holds mu for writing.
func (s *store) truncate(mint int64) {
	if mint <= s.minTime {
		return
	}
	s.minTime = math.MaxInt64
	var gone []*memSeries
	for hash, first := range s.byHash {
		var head, tail *memSeries // the chain of the series kept, in order
		for ms := first; ms != nil; {
			next := ms.next
			ms.next = nil
			if !ms.truncate(mint) {
				ms.dead = true
				gone = append(gone, ms)
			} else {
				s.minTime = min(s.minTime, ms.minT())
				if tail == nil {
					head = ms
				} else {
					tail.next = ms
				}
				tail = ms
			}
			ms = next
		}
		if head == nil {
			delete(s.byHash, hash)
		} else if head != first {
			s.byHash[hash] = head
		}
	}
	s.postings.remove(gone)
	if oversized(s.peak, s.postings.count) {
		// A map never shrinks: once a spike of series is gone, only a new one gives its
		// room back. Once per spike, as the peak starts over from what is held.
		m := make(map[uint64]*memSeries, len(s.byHash))
		for hash, ms := range s.byHash {
			m[hash] = ms
		}
		s.byHash, s.peak = m, s.postings.count
	}
}

// truncate drops ms' samples older than mint and reports whether any is left. A chunk a
// Select may hold is replaced, never changed.
func (ms *memSeries) truncate(mint int64) bool {
	if ms.newest() < mint {
		return false
	}
	i := 0
	for i < len(ms.chunks) && ms.chunks[i].maxT < mint {
		i++
	}
	if i > 0 {
		n := copy(ms.chunks, ms.chunks[i:])
		clear(ms.chunks[n:])
		ms.chunks = ms.chunks[:n]
	}
	if len(ms.chunks) > 0 {
		if first := &ms.chunks[0]; first.minT < mint {
			a, minT := since(first.chunk, mint)
			*first = memChunk{minT: minT, maxT: first.maxT, chunk: complete(&a)}
		}
		return true
	}
	if ms.headMinT < mint {
		// Selects read copies of the head, never the head itself.
		old := &chunkenc.XORChunk{}
		old.Reset(ms.head.header())
		ms.head, ms.headMinT = since(old, mint)
	}
	return true
}

// since returns an appender of a new chunk of c's samples at or after mint, and the time
// of the first; c holds at least one.
func since(c *chunkenc.XORChunk, mint int64) (xorAppender, int64) {
	a := newXORAppender(chunkCap)
	minT := int64(math.MaxInt64)
	for it := c.Iterator(nil); it.Next() == chunkenc.ValFloat; {
		if t, v := it.At(); t >= mint {
			a.append(t, v)
			minT = min(minT, t)
		}
	}
	return a, minT
}
