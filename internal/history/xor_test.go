package history

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

type xorSample struct {
	t int64
	v float64
}

// sameAsChunkenc appends samples with xorAppender and with chunkenc's XOR appender and
// fails unless the chunks are byte for byte equal and chunkenc's iterator reads back
// every sample.
func sameAsChunkenc(t *testing.T, samples []xorSample) {
	t.Helper()
	ours := newXORAppender(chunkCap)
	theirs := chunkenc.NewXORChunk()
	app, err := theirs.Appender()
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range samples {
		ours.append(s.t, s.v)
		app.Append(0, s.t, s.v)
		if got, want := ours.header(), theirs.Bytes(); !bytes.Equal(got, want) {
			t.Fatalf("after sample %d (%d, %v) of %v:\n ours   %x\n chunkenc %x", i, s.t, s.v, samples[:i+1], got, want)
		}
	}
	c := &chunkenc.XORChunk{}
	c.Reset(ours.header())
	it := c.Iterator(nil)
	for i, s := range samples {
		if it.Next() != chunkenc.ValFloat {
			t.Fatalf("sample %d: iterator ended: %v", i, it.Err())
		}
		if gt, gv := it.At(); gt != s.t || math.Float64bits(gv) != math.Float64bits(s.v) {
			t.Fatalf("sample %d: read (%d, %v), want (%d, %v)", i, gt, gv, s.t, s.v)
		}
	}
	if it.Next() != chunkenc.ValNone {
		t.Fatal("iterator read past the last sample")
	}
}

// The appender writes what chunkenc's writes, for every bucket of the delta of deltas
// (0, 14, 17, 20 and 64 bits, each at its bounds), every value case (unchanged, within
// the previous leading and trailing zeros, new ones, 64 meaningful bits, more than 31
// leading zeros) and the values an exposition has (NaN, staleness markers, infinities,
// negative zero).
func TestXORAppenderSameBytes(t *testing.T) {
	run := func(ts []int64, vs []float64) []xorSample {
		out := make([]xorSample, len(ts))
		for i := range ts {
			out[i] = xorSample{ts[i], vs[i%len(vs)]}
		}
		return out
	}
	steps := func(start int64, deltas ...int64) []int64 {
		out := []int64{start}
		for _, d := range deltas {
			start += d
			out = append(out, start)
		}
		return out
	}
	stale := math.Float64frombits(value.StaleNaN)
	cases := map[string][]xorSample{
		"one sample":             run([]int64{1700000000000}, []float64{1}),
		"negative time":          run([]int64{-5, 10}, []float64{1}),
		"regular, constant":      run(steps(0, 15000, 15000, 15000, 15000), []float64{3}),
		"dod 14 bits, bounds":    run(steps(0, 1000, 1000+8192, 1000, 1000-8191, 1000), []float64{1, 2}),
		"dod 17 bits, bounds":    run(steps(0, 100000, 100000+8193, 100000, 100000+65536, 100000-65535), []float64{1}),
		"dod 20 bits, bounds":    run(steps(0, 1000000, 1000000+65537, 1000000, 1000000+524288, 1000000-524287), []float64{1}),
		"dod 64 bits":            run(steps(0, 1, 1+524289, 1<<40, 1), []float64{1}),
		"values: new and reused": run(steps(0, 1, 1, 1, 1, 1, 1, 1), []float64{1, 1.5, 1.25, 1e300, -1e-300, 7, 7.0000001}),
		"values: 64 meaningful":  run(steps(0, 1, 1, 1), []float64{math.Float64frombits(1), math.Float64frombits(1<<63 | 1), 0}),
		"values: special":        run(steps(0, 1, 1, 1, 1, 1, 1, 1), []float64{math.NaN(), stale, math.Inf(1), math.Inf(-1), math.Copysign(0, -1), 0, stale}),
	}
	for name, samples := range cases {
		t.Run(name, func(t *testing.T) { sameAsChunkenc(t, samples) })
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 200 {
		samples := randomSamples(rng, 1+rng.IntN(samplesPerChunk))
		if !t.Run("random", func(t *testing.T) { sameAsChunkenc(t, samples) }) {
			t.Fatalf("random case %d failed", i)
		}
	}
}

// randomSamples returns n samples in time order with the mix a scrape gives: regular
// intervals with jitter and gaps, counters, gauges, repeats and markers.
func randomSamples(rng *rand.Rand, n int) []xorSample {
	out := make([]xorSample, n)
	t := rng.Int64N(1 << 42)
	v := rng.Float64() * 100
	for i := range out {
		switch rng.IntN(6) {
		case 0:
			t += 1 + rng.Int64N(1<<rng.IntN(40))
		default:
			t += 1000 + rng.Int64N(3) - 1
		}
		switch rng.IntN(6) {
		case 0:
			v = rng.NormFloat64() * math.Pow(10, float64(rng.IntN(20)-10))
		case 1:
			v += float64(rng.IntN(10))
		case 2:
			v = math.Float64frombits(value.StaleNaN)
		case 3:
			v = float64(rng.IntN(3))
		}
		out[i] = xorSample{t, v}
	}
	return out
}

// FuzzXORAppender: any time-ordered samples come out as chunkenc writes them.
func FuzzXORAppender(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 1, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0})
	f.Add(bytes.Repeat([]byte{0, 0, 0, 0, 0, 0, 0x3a, 0x98, 0x40, 0, 0, 0, 0, 0, 0, 0}, 5))
	f.Add(bytes.Repeat([]byte{0xff, 0, 0, 0, 0, 0, 0x3a, 0x98, 0x7f, 0xf8, 0, 0, 0, 0, 0, 2}, 3))
	f.Fuzz(func(t *testing.T, data []byte) {
		var samples []xorSample
		var at int64
		for len(data) >= 16 && len(samples) < samplesPerChunk {
			// Eight bytes of time step (up to 2^40 ms), eight of value bits.
			at += int64(binary.BigEndian.Uint64(data)>>24) + 1
			samples = append(samples, xorSample{at, math.Float64frombits(binary.BigEndian.Uint64(data[8:]))})
			data = data[16:]
		}
		if len(samples) > 0 {
			sameAsChunkenc(t, samples)
		}
	})
}
