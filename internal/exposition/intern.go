package exposition

import (
	"sync"
	"sync/atomic"
)

const (
	// internShards spreads lookups of concurrent Parsers over several locks.
	internShards = 32
	// MaxInternLen is the longest string an Interner stores; longer ones are returned
	// freshly allocated, so the memory an Interner holds is bounded by its entries.
	MaxInternLen = 1024
)

// Interner deduplicates the strings of expositions: Intern returns the same string for
// the same bytes, so a steady exposition, parsed again and again, allocates no strings.
//
// It is bounded: once it holds maxEntries strings, unseen strings are returned freshly
// allocated and not stored, so a target with an ever-changing label value cannot grow it
// without end; strings longer than MaxInternLen are never stored. It never forgets a
// string: build a new Interner to start over.
//
// An Interner is safe for concurrent use; Parsers scraping different targets share one.
// The zero value stores nothing (every call allocates): use NewInterner. A nil *Interner
// is valid and also stores nothing.
type Interner struct {
	max    int64
	n      atomic.Int64 // strings held across all shards; never more than max
	shards [internShards]internShard
}

type internShard struct {
	mu sync.RWMutex      // protects m
	m  map[string]string // key and value are the same string
	_  [32]byte          // keeps neighbouring shards' locks off one cache line
}

// NewInterner returns an Interner that stores at most maxEntries strings; maxEntries <= 0
// stores none.
func NewInterner(maxEntries int) *Interner {
	return &Interner{max: int64(max(maxEntries, 0))}
}

// Intern returns a string equal to b. The result is immutable and may be kept; b is not
// retained. Intern does not allocate when the string is already held.
func (in *Interner) Intern(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if in == nil || len(b) > MaxInternLen {
		return string(b)
	}
	sh := &in.shards[shardOf(b)]
	sh.mu.RLock()
	s, ok := sh.m[string(b)] // no allocation: the compiler converts for the lookup only
	sh.mu.RUnlock()
	if ok {
		return s
	}
	return in.insert(sh, b)
}

func (in *Interner) insert(sh *internShard, b []byte) string {
	// Full: skip the exclusive lock, which exploding label values would otherwise take
	// on every call.
	if in.n.Load() >= in.max {
		return string(b)
	}
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if s, ok := sh.m[string(b)]; ok {
		return s // stored by another Parser since our read
	}
	s := string(b)
	if in.n.Add(1) > in.max {
		in.n.Add(-1)
		return s
	}
	if sh.m == nil {
		sh.m = make(map[string]string)
	}
	sh.m[s] = s
	return s
}

// Len returns the number of strings held.
func (in *Interner) Len() int {
	if in == nil {
		return 0
	}
	return int(in.n.Load())
}

// shardOf picks a shard from a few bytes of b (never empty): cheaper than a hash of all
// of b, which the shard's map computes anyway. A skewed spread costs only contention.
func shardOf(b []byte) uint {
	h := uint32(len(b))*0x9E3779B1 ^ uint32(b[0])<<16 ^ uint32(b[len(b)/2])<<8 ^ uint32(b[len(b)-1])
	h *= 0x85EBCA6B
	return uint(h>>27) % internShards
}
