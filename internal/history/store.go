package history

import (
	"math"
	"sync"

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
	postings postings
	nextID   uint64
	minTime  int64 // ms of the oldest sample held; math.MaxInt64 when empty
}

// memSeries is one series: its labels and samples, oldest chunk first. The last chunk is
// the one appended to; the others never change again.
type memSeries struct {
	id     uint64
	lset   labels.Labels
	chunks []memChunk
	app    chunkenc.Appender // appends to the last chunk
	lastT  int64             // ms of the newest sample; math.MinInt64 before the first
	epoch  uint64            // of the newest sample
	hist   []epochT          // lastT at the end of earlier epochs open queriers read, oldest first
	dead   bool              // dropped by retention: a holder of the pointer must look it up again
	next   *memSeries        // the next series of the same label hash (store.byHash)
}

// epochT is where a series stood at the end of an epoch.
type epochT struct {
	epoch uint64
	lastT int64
}

// maxHist bounds memSeries.hist: a querier left open longer than that many appends of a
// series (a caller that never closes it) sees that series' samples up to the oldest kept.
const maxHist = 64

// visibleT returns the time of ms' newest sample a querier made at epoch sees;
// math.MinInt64 if none.
func (ms *memSeries) visibleT(epoch uint64) int64 {
	if ms.epoch <= epoch {
		return ms.lastT
	}
	for i := len(ms.hist) - 1; i >= 0; i-- {
		if ms.hist[i].epoch <= epoch {
			return ms.hist[i].lastT
		}
	}
	if len(ms.hist) == maxHist {
		return ms.hist[0].lastT
	}
	return math.MinInt64
}

// record keeps where ms stood before its first sample of the current epoch, for the open
// queriers of earlier epochs. The caller holds the store's mu for writing.
func (s *store) record(ms *memSeries) {
	if s.low >= s.epoch {
		ms.hist = ms.hist[:0]
		return
	}
	ms.hist = append(ms.hist, epochT{epoch: ms.epoch, lastT: ms.lastT})
	// Of the entries older than the oldest open querier, only the newest is read.
	k := 0
	for k < len(ms.hist) && ms.hist[k].epoch < s.low {
		k++
	}
	if drop := max(k-1, len(ms.hist)-maxHist); drop > 0 {
		n := copy(ms.hist, ms.hist[drop:])
		ms.hist = ms.hist[:n]
	}
}

// memChunk is one XOR chunk of a series and the times of its first and last samples.
type memChunk struct {
	minT, maxT int64
	chunk      *chunkenc.XORChunk
	samples    int // in chunk, counted here: reading the chunk's header costs a cache miss
}

func newStore() *store {
	return &store{
		active:  map[uint64]int{},
		byHash:  map[uint64]*memSeries{},
		minTime: math.MaxInt64,
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
func (s *store) holds(ms []*labels.Matcher) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, m := range s.postings.candidates(ms) {
		if len(m.chunks) > 0 && matchesAll(m.lset, ms) {
			return true
		}
	}
	return false
}

// create adds an empty series of lset. The caller holds mu for writing and has checked
// that get returns nil.
func (s *store) create(lset labels.Labels, hash uint64) *memSeries {
	s.nextID++
	ms := &memSeries{id: s.nextID, lset: lset, lastT: math.MinInt64}
	ms.next = s.byHash[hash]
	s.byHash[hash] = ms
	s.postings.add(ms)
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
	n := len(ms.chunks)
	if n == 0 || ms.chunks[n-1].samples >= samplesPerChunk {
		if n > 0 {
			// The chunk is complete: give back its spare capacity.
			ms.chunks[n-1].chunk.Compact()
		}
		c := newChunk()
		app, _ := c.Appender() // an empty XOR chunk's appender never fails
		ms.app = app
		ms.chunks = append(ms.chunks, memChunk{minT: t, maxT: t, chunk: c})
		n++
	}
	if ms.epoch != s.epoch {
		s.record(ms)
		ms.epoch = s.epoch
	}
	ms.app.Append(0, t, v)
	ms.chunks[n-1].maxT = t
	ms.chunks[n-1].samples++
	ms.lastT = t
	s.minTime = min(s.minTime, ms.chunks[0].minT)
}

// chunkCap is the bytes a new chunk starts with. chunkenc.NewXORChunk's 128 is what 120
// changing samples take; a series whose value seldom changes (a histogram's empty
// buckets, a setting) fills about 50 bytes in 120 samples, and appends grow the chunk of
// a series that needs more (one more allocation for it).
const chunkCap = 64

// newChunk returns an empty XOR chunk of chunkCap bytes.
func newChunk() *chunkenc.XORChunk {
	b := make([]byte, 2, chunkCap)                // the sample count, zero
	c, _ := chunkenc.FromData(chunkenc.EncXOR, b) // never fails for EncXOR
	return c.(*chunkenc.XORChunk)
}

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
				s.minTime = min(s.minTime, ms.chunks[0].minT)
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
}

// truncate drops ms' samples older than mint and reports whether any is left. A chunk a
// Select may hold is replaced, never changed.
func (ms *memSeries) truncate(mint int64) bool {
	i := 0
	for i < len(ms.chunks) && ms.chunks[i].maxT < mint {
		i++
	}
	if i == len(ms.chunks) {
		return false
	}
	if i > 0 {
		n := copy(ms.chunks, ms.chunks[i:])
		clear(ms.chunks[n:])
		ms.chunks = ms.chunks[:n]
	}
	first := &ms.chunks[0]
	if first.minT >= mint {
		return true
	}
	c := newChunk()
	app, _ := c.Appender() // an empty XOR chunk's appender never fails
	it := first.chunk.Iterator(nil)
	minT := int64(math.MaxInt64)
	kept := 0
	for it.Next() == chunkenc.ValFloat {
		if t, v := it.At(); t >= mint {
			app.Append(0, t, v)
			minT = min(minT, t)
			kept++
		}
	}
	if len(ms.chunks) > 1 {
		c.Compact()
	} else {
		ms.app = app // it is the chunk appended to
	}
	*first = memChunk{minT: minT, maxT: first.maxT, chunk: c, samples: kept}
	return true
}
