package exposition

import (
	"bytes"
	"hash/maphash"
	"math"
	"strconv"
)

// floatLabelSlots is the size of a Parser's cache of rewritten le and quantile values:
// far more than the distinct bucket bounds and quantiles of a large exposition.
const floatLabelSlots = 1 << 8

// floatLabelOf returns the label whose values Prometheus' textparse (v0.316) rewrites in
// a canonical float form under a # TYPE line of type t: le for a histogram, quantile for a
// summary; "" for any other type (a gauge histogram's le is kept as exposed). As in
// textparse, the type is that of the latest # TYPE line, whichever sample follows it.
func floatLabelOf(t MetricType) string {
	switch t {
	case TypeHistogram:
		return "le"
	case TypeSummary:
		return "quantile"
	}
	return ""
}

// appendFloatLabel appends the form Prometheus stores the le or quantile value v in: the
// shortest decimal that reads back as the same float64, with ".0" when it would have
// neither a '.' nor an exponent (le="1" is stored as "1.0", le="0.50" as "0.5", le="inf"
// as "+Inf"). ok is false, and nothing is appended, when strconv.ParseFloat rejects v (out
// of range included): such a value is stored as exposed.
func appendFloatLabel(dst []byte, v string) (_ []byte, ok bool) {
	f, err := strconv.ParseFloat(v, 64)
	switch {
	case err != nil:
		return dst, false
	case f == 0: // -0 too
		return append(dst, "0.0"...), true
	case math.IsNaN(f):
		return append(dst, "NaN"...), true
	case math.IsInf(f, 1):
		return append(dst, "+Inf"...), true
	case math.IsInf(f, -1):
		return append(dst, "-Inf"...), true
	}
	start := len(dst)
	dst = strconv.AppendFloat(dst, f, 'g', -1, 64)
	if bytes.IndexAny(dst[start:], ".e") < 0 {
		dst = append(dst, ".0"...)
	}
	return dst, true
}

// floatLabels is a Parser's direct-mapped cache from an le or quantile value as exposed
// to its stored form, so that the buckets of a histogram, repeated for every label
// combination, are rewritten once and not once per line.
type floatLabels struct {
	slots  []floatLabel     // made on first use
	hashes []floatLabelHash // for lines checked, not built; made on first use
}

type floatLabel struct {
	rawHash   uint64 // of raw, as recentStrings hashes it
	raw       string // the value as exposed
	value     string // its stored form
	valueHash uint64
}

// get returns the stored form of the value raw, whose hash is rawHash, and the form's
// hash, caching both; strings come from recent and in.
func (c *floatLabels) get(raw string, rawHash uint64, recent *recentStrings, in *Interner) (string, uint64) {
	var e *floatLabel
	if len(raw) <= maxRecentLen { // a long value is not kept: it would bound nothing
		if c.slots == nil {
			c.slots = make([]floatLabel, floatLabelSlots)
		}
		e = &c.slots[rawHash&(floatLabelSlots-1)]
		if e.rawHash == rawHash && e.raw == raw {
			return e.value, e.valueHash
		}
	}
	value, valueHash := raw, rawHash
	var buf [32]byte
	if b, ok := appendFloatLabel(buf[:0], raw); ok && string(b) != raw {
		value, valueHash = recent.get(b, in)
	}
	if e != nil {
		*e = floatLabel{rawHash: rawHash, raw: raw, value: value, valueHash: valueHash}
	}
	return value, valueHash
}

// floatLabelHash maps the hash of an le or quantile value as exposed to the hash of its
// stored form. Trusting the 64-bit hash of the value, rather than comparing strings, is
// the trade-off seriesSet makes: it needs no string.
type floatLabelHash struct {
	rawHash, valueHash uint64
}

// hash returns the hash of the stored form of the value raw, whose hash is rawHash,
// making no strings: for lines that are checked, not built.
func (c *floatLabels) hash(raw []byte, rawHash uint64, seed maphash.Seed) uint64 {
	slot := rawHash & (floatLabelSlots - 1)
	if c.slots != nil {
		if e := &c.slots[slot]; e.rawHash == rawHash && e.raw == string(raw) {
			return e.valueHash
		}
	}
	if c.hashes == nil {
		c.hashes = make([]floatLabelHash, floatLabelSlots)
	}
	e := &c.hashes[slot]
	if e.rawHash == rawHash && rawHash != 0 {
		return e.valueHash
	}
	valueHash := rawHash
	var buf [32]byte
	if b, ok := appendFloatLabel(buf[:0], unsafeString(raw)); ok && string(b) != string(raw) {
		valueHash = maphash.Bytes(seed, b)
	}
	*e = floatLabelHash{rawHash: rawHash, valueHash: valueHash}
	return valueHash
}

// retained returns the bytes the cache keeps, at most.
func (c *floatLabels) retained() int { return cap(c.slots)*(48+2*maxRecentLen) + cap(c.hashes)*16 }
