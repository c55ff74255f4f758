package exposition

import (
	"sync"
	"sync/atomic"
)

const (
	// internShards spreads lookups of concurrent Parsers over several locks.
	internShards = 32
	// MaxInternLen is the longest string an Interner stores; longer ones are returned
	// freshly allocated.
	MaxInternLen = 1024
	// internEntryCost is what an Interner counts per string on top of its bytes: the
	// map entry's key and value string headers (the map's own slack is not counted).
	internEntryCost = 32
)

// Interner deduplicates the strings of expositions: Intern returns the same string for
// the same bytes, so a steady exposition, parsed again and again, allocates no strings.
//
// It is bounded in bytes over time, by generations: it holds the strings of the current
// generation and of the previous one. A string found in the previous generation moves to
// the current one; when the current generation's strings reach the generation budget, it
// becomes the previous one and the previous one is forgotten. So strings seen at least
// once per generation stay held (a steady exposition's, when they fit in one generation),
// strings no longer seen (a label
// value that changes every scrape) are forgotten within two generations, and the
// Interner holds at most two generations' budget however many distinct strings go
// through it. A string counts its bytes plus internEntryCost; strings longer than
// MaxInternLen are never stored.
//
// An Interner is safe for concurrent use; Parsers scraping different targets share one.
// The zero value stores nothing (every call allocates): use NewInterner. A nil *Interner
// is valid and also stores nothing.
type Interner struct {
	genBudget int64        // bytes one generation may hold
	curBytes  atomic.Int64 // bytes counted in the current generation

	rotateMu sync.Mutex // serialises rotations; taken before any shard's lock
	shards   [internShards]internShard
}

type internShard struct {
	mu   sync.RWMutex      // protects cur and prev
	cur  map[string]string // key and value are the same string
	prev map[string]string
	_    [24]byte // keeps neighbouring shards' locks off one cache line
}

// NewInterner returns an Interner whose generations each hold up to generationBytes,
// counting each string's bytes plus a fixed cost per string, so that it holds at most
// twice that; generationBytes <= 0 stores none. Size a generation for the distinct
// strings of one scrape of every target sharing the Interner.
func NewInterner(generationBytes int) *Interner {
	return &Interner{genBudget: int64(max(generationBytes, 0))}
}

// Intern returns a string equal to b. The result is immutable and may be kept; b is not
// retained. Intern does not allocate when the string is held.
func (in *Interner) Intern(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if in == nil || len(b) > MaxInternLen || int64(len(b)+internEntryCost) > in.genBudget {
		return string(b)
	}
	sh := &in.shards[shardOf(b)]
	sh.mu.RLock()
	s, ok := sh.cur[string(b)] // no allocation: the compiler converts for the lookup only
	sh.mu.RUnlock()
	if ok {
		return s
	}
	return in.insert(sh, b)
}

// insert stores b in the current generation, moving it from the previous one when it is
// there, after starting a new generation when b would take the current one over its
// budget.
func (in *Interner) insert(sh *internShard, b []byte) string {
	c := int64(len(b) + internEntryCost)
	if in.curBytes.Load()+c > in.genBudget {
		in.rotate(c)
	}
	sh.mu.Lock()
	defer sh.mu.Unlock()
	s, ok := sh.cur[string(b)]
	if ok { // stored by another Parser since our read
		return s
	}
	if s, ok = sh.prev[string(b)]; ok {
		delete(sh.prev, s)
	} else {
		s = string(b)
	}
	if sh.cur == nil {
		sh.cur = make(map[string]string)
	}
	sh.cur[s] = s
	in.curBytes.Add(c)
	return s
}

// rotate makes the current generation the previous one and forgets the previous one.
// c is the cost of the string that does not fit.
func (in *Interner) rotate(c int64) {
	in.rotateMu.Lock()
	defer in.rotateMu.Unlock()
	if in.curBytes.Load()+c <= in.genBudget {
		return // another caller rotated first
	}
	for i := range in.shards {
		sh := &in.shards[i]
		sh.mu.Lock()
		sh.prev, sh.cur = sh.cur, nil
		sh.mu.Unlock()
	}
	// Inserts racing with the loop may count their bytes in the generation just retired:
	// the budget is kept to within those few strings.
	in.curBytes.Store(0)
}

// Len returns the number of strings held, in both generations.
func (in *Interner) Len() int {
	if in == nil {
		return 0
	}
	n := 0
	for i := range in.shards {
		sh := &in.shards[i]
		sh.mu.RLock()
		n += len(sh.cur) + len(sh.prev)
		sh.mu.RUnlock()
	}
	return n
}

// shardOf picks a shard from a few bytes of b (never empty): cheaper than a hash of all
// of b, which the shard's map computes anyway. A skewed spread costs only contention.
func shardOf(b []byte) uint {
	h := uint32(len(b))*0x9E3779B1 ^ uint32(b[0])<<16 ^ uint32(b[len(b)/2])<<8 ^ uint32(b[len(b)-1])
	h *= 0x85EBCA6B
	return uint(h>>27) % internShards
}
