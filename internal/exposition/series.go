package exposition

import "hash/maphash"

// seriesSet detects a series that repeats within one exposition, as Prometheus rejects
// it. A series is identified by a 64-bit hash of its name and its set of label pairs in
// any order: the hash of the name plus the sum of the hashes of the pairs. Two different
// series are mistaken for one with a probability of about 2^-64 per pair of series;
// this is accepted rather than keeping every label set to compare.
type seriesSet struct {
	seed maphash.Seed
	seen map[uint64]struct{} // series hashes of the current exposition
}

func (s *seriesSet) init() {
	s.seed = maphash.MakeSeed()
	s.seen = make(map[uint64]struct{})
}

// reset forgets the series of the previous exposition and keeps the map's memory.
func (s *seriesSet) reset() { clear(s.seen) }

func (s *seriesSet) hash(str string) uint64 { return maphash.String(s.seed, str) }

// add records a series hash and reports whether it is new.
func (s *seriesSet) add(h uint64) bool {
	n := len(s.seen)
	s.seen[h] = struct{}{}
	return len(s.seen) > n
}

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
