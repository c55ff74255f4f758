package history

import (
	"testing"
	"unsafe"
)

// A series costs its struct's size class: 160 bytes holds it (BENCH.md, the history's
// memory per series). A field added past it costs every series 16 bytes more.
func TestMemSeriesFitsItsSizeClass(t *testing.T) {
	if n := unsafe.Sizeof(memSeries{}); n > 160 {
		t.Errorf("memSeries is %d bytes, want at most 160 (the allocator's size class)", n)
	}
}

// A head chunk grown past the chunkCap it starts with keeps at most a quarter of its
// bytes, and 16 more, of room beyond what its samples take: append's doubling kept up to
// as much again as they took (a chunk of 130 bytes in 256).
func TestHeadChunkRoomIsBounded(t *testing.T) {
	a := newXORAppender(chunkCap)
	for i := range samplesPerChunk {
		a.append(int64(i)*1000+int64(i*7%13), float64(i*i))
		if room, n := cap(a.b)-len(a.b), len(a.b); cap(a.b) > chunkCap && room > n/4+16 {
			t.Fatalf("after %d samples: %d bytes of room beside %d taken, want at most %d", i+1, room, n, n/4+16)
		}
	}
}
