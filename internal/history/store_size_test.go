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
