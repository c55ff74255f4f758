package prometheus

import (
	"testing"
	"time"
)

// A retry waits its backoff lengthened by at most a fifth, never shortened.
func TestJitterWithinAFifth(t *testing.T) {
	for _, d := range []time.Duration{time.Nanosecond, time.Millisecond, 100 * time.Millisecond} {
		for range 1000 {
			if got := jitter(d); got < d || got > d+d/5 {
				t.Fatalf("jitter(%s) = %s, want within [%s, %s]", d, got, d, d+d/5)
			}
		}
	}
}
