package exposition

import "hash/maphash"

const (
	// recentSlots is the size of a Parser's cache of recent strings: enough for the
	// distinct names and label values of a large exposition to rarely collide.
	recentSlots = 1 << 12
	// maxRecentLen is the longest string the cache holds, which bounds its memory.
	maxRecentLen = 64
)

// recentStrings is a Parser's own direct-mapped cache in front of the shared Interner:
// a hit costs one hash and one comparison, no lock. The hash is the one the Parser
// identifies series with, so it is computed once for both.
type recentStrings struct {
	seed  maphash.Seed
	slots []recentString // made on first use
}

type recentString struct {
	s    string
	hash uint64
}

// get returns the string of b and its hash, from the cache, else from in (which may be
// nil), then caching it.
func (c *recentStrings) get(b []byte, in *Interner) (string, uint64) {
	h := maphash.Bytes(c.seed, b)
	if len(b) > maxRecentLen {
		return in.Intern(b), h
	}
	if c.slots == nil {
		c.slots = make([]recentString, recentSlots)
	}
	e := &c.slots[h&(recentSlots-1)]
	if e.hash == h && e.s == string(b) {
		return e.s, h
	}
	s := in.Intern(b)
	*e = recentString{s: s, hash: h}
	return s, h
}

// retained returns the bytes the cache keeps, at most.
func (c *recentStrings) retained() int { return cap(c.slots) * (24 + maxRecentLen) }
