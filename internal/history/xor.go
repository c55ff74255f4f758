package history

import (
	"encoding/binary"
	"math"
	"math/bits"
)

// xorAppender appends samples to an XOR chunk in tsdb/chunkenc's encoding (EncXOR: a
// two-byte sample count, then the samples' bits, most significant first), byte for byte
// what chunkenc's own appender writes (TestXORAppenderSameBytes), so that chunkenc's
// iterator reads what it wrote. It is a value, kept inside its series: appending touches
// the series and the chunk's last bytes, where chunkenc's appender (an object of its own,
// on a chunk object of its own) reads and writes the chunk's header on every sample.
//
// The header is written by header, not by append: a chunk being appended to has a stale
// count until then.
type xorAppender struct {
	b                 []byte // the chunk: header, then the samples' bits
	free              uint8  // bits of b's last byte not yet written
	n                 uint16 // samples appended
	leading, trailing uint8  // of the last value's XOR with the one before; leading 0xff: none yet
	t                 int64
	v                 float64
	tDelta            uint64
}

// newXORAppender returns an appender of an empty chunk of capacity bytes.
func newXORAppender(capacity int) xorAppender {
	return xorAppender{b: make([]byte, 2, capacity), leading: 0xff}
}

// header writes the sample count into the chunk's header and returns the chunk's bytes.
func (a *xorAppender) header() []byte {
	binary.BigEndian.PutUint16(a.b, a.n)
	return a.b
}

// append adds the sample (t, v), which must be newer than the last. A chunk holds at most
// math.MaxUint16 samples; the store cuts chunks far earlier (samplesPerChunk).
func (a *xorAppender) append(t int64, v float64) {
	switch a.n {
	case 0:
		var buf [binary.MaxVarintLen64]byte
		for _, c := range buf[:binary.PutVarint(buf[:], t)] {
			a.writeBits(uint64(c), 8)
		}
		a.writeBits(math.Float64bits(v), 64)
	case 1:
		a.tDelta = uint64(t - a.t)
		var buf [binary.MaxVarintLen64]byte
		for _, c := range buf[:binary.PutUvarint(buf[:], a.tDelta)] {
			a.writeBits(uint64(c), 8)
		}
		a.writeValue(v)
	default:
		tDelta := uint64(t - a.t)
		// The delta of the deltas, in the smallest of chunkenc's buckets it fits:
		// 0, then a prefix of 2, 3, 4 or 4 bits and 14, 17, 20 or 64 bits of it.
		switch dod := int64(tDelta - a.tDelta); {
		case dod == 0:
			a.writeBits(0, 1)
		case fitsBits(dod, 14):
			a.writeBits(0b10, 2)
			a.writeBits(uint64(dod), 14)
		case fitsBits(dod, 17):
			a.writeBits(0b110, 3)
			a.writeBits(uint64(dod), 17)
		case fitsBits(dod, 20):
			a.writeBits(0b1110, 4)
			a.writeBits(uint64(dod), 20)
		default:
			a.writeBits(0b1111, 4)
			a.writeBits(uint64(dod), 64)
		}
		a.tDelta = tDelta
		a.writeValue(v)
	}
	a.t, a.v = t, v
	a.n++
}

// fitsBits reports whether x is in chunkenc's range for a delta of delta of nbits bits:
// [-(2^(nbits-1)-1), 2^(nbits-1)].
func fitsBits(x int64, nbits uint8) bool {
	return -((1<<(nbits-1))-1) <= x && x <= 1<<(nbits-1)
}

// writeValue writes v as its XOR with the previous value: a 0 bit when they are equal;
// else 1, then 0 and the XOR's meaningful bits when they fall within the previous
// leading and trailing zeros, or 1, 5 bits of leading zeros (at most 31), 6 of the
// meaningful bits' count (64 written as 0) and those bits.
func (a *xorAppender) writeValue(v float64) {
	delta := math.Float64bits(v) ^ math.Float64bits(a.v)
	if delta == 0 {
		a.writeBits(0, 1)
		return
	}
	leading := min(uint8(bits.LeadingZeros64(delta)), 31)
	trailing := uint8(bits.TrailingZeros64(delta))
	if a.leading != 0xff && leading >= a.leading && trailing >= a.trailing {
		a.writeBits(0b10, 2)
		a.writeBits(delta>>a.trailing, 64-a.leading-a.trailing)
		return
	}
	a.leading, a.trailing = leading, trailing
	sig := 64 - leading - trailing
	a.writeBits(0b11, 2)
	a.writeBits(uint64(leading), 5)
	a.writeBits(uint64(sig), 6) // 64 is written as 0: 6 bits keep its low bits
	a.writeBits(delta>>trailing, sig)
}

// writeBits writes the n low bits of u (n at most 64), most significant first.
func (a *xorAppender) writeBits(u uint64, n uint8) {
	for n > 0 {
		if a.free == 0 {
			if len(a.b) == cap(a.b) {
				a.grow()
			}
			a.b = append(a.b, 0)
			a.free = 8
		}
		k := min(n, a.free)
		part := (u >> (n - k)) & (1<<k - 1)
		a.b[len(a.b)-1] |= byte(part << (a.free - k))
		a.free -= k
		n -= k
	}
}

// grow makes room in the chunk for more bytes: a quarter more, at least 16 bytes, in
// multiples of 16 (the allocator's size classes up to 256 bytes). append's doubling
// left a head chunk of 130 bytes (60 samples of a second's scrapes) in 256: half of
// every head chunk's room unused, a tenth of a history's memory.
func (a *xorAppender) grow() {
	n := (cap(a.b) + max(cap(a.b)/4, 16) + 15) &^ 15
	b := make([]byte, len(a.b), n)
	copy(b, a.b)
	a.b = b
}
