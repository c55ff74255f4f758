package exposition

import (
	"bytes"
	"runtime"
	"testing"
)

// Allocation bound of one Parse by a new Parser without an Interner (every string
// allocated, the worst case): the Parser's own start-up (about 170 KiB, its read buffer and
// series set included) plus a multiple of the input. Measured worst cases are about 7
// bytes per input byte (a label value of escapes), 6 for many tiny samples, under 4 for a
// 3 MiB line; the bound has twice that headroom, and fails on anything quadratic.
const (
	allocBoundBase    = 256 << 10
	allocBoundPerByte = 16
)

// FuzzParseAllocBound checks that Parse never panics and never allocates more than
// allocBoundBase + allocBoundPerByte bytes per input byte, so that what a pod can make a
// scrape allocate is bounded by its body, which MaxBodyBytes caps. FuzzParse checks what
// a Parser retains; this checks what it allocates on the way. The seed corpus (the
// fixtures) runs with go test; to fuzz:
//
//	go test ./internal/exposition/ -run '^$' -fuzz '^FuzzParseAllocBound$' -fuzztime 60s
func FuzzParseAllocBound(f *testing.F) {
	for _, path := range textInputs {
		f.Add(readFile(f, path), false)
	}
	for _, path := range openMetricsInputs {
		f.Add(readFile(f, path), true)
	}
	for _, s := range []string{"", "a 1\n", "a{b=\"" + string(bytes.Repeat([]byte(`\n`), 4096)) + "\"} 1\n"} {
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, data []byte, om bool) {
		format := FormatText
		if om {
			format = FormatOpenMetrics
		}
		r := bytes.NewReader(data)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		p := NewParser(Options{})
		_, _ = p.Parse(r, format, func(*Sample) error { return nil })
		runtime.ReadMemStats(&after)
		if got, limit := after.TotalAlloc-before.TotalAlloc, uint64(allocBoundBase+allocBoundPerByte*len(data)); got > limit {
			t.Fatalf("got %d bytes allocated parsing %d bytes, want at most %d", got, len(data), limit)
		}
	})
}
