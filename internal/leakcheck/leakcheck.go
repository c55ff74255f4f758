// Package leakcheck tells tests whether what they started has ended: goroutines and open
// file descriptors (sockets, files) back to the count they had before.
package leakcheck

import (
	"bytes"
	"os"
	"runtime"
	"runtime/pprof"
	"time"
)

// TB is the part of testing.TB a check uses.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
}

// Baseline is the goroutines and file descriptors of the process at one time.
type Baseline struct {
	Goroutines int
	FDs        int // -1 where /proc/self/fd cannot be read
}

// Take returns the process' counts now.
func Take() Baseline {
	return Baseline{Goroutines: runtime.NumGoroutine(), FDs: openFDs()}
}

// openFDs counts the process' open file descriptors, -1 when it cannot.
func openFDs() int {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(entries) - 1 // the directory read itself holds one
}

// Back waits, until deadline passes, for the goroutines and open file descriptors to be
// back within slack of b; it fails the test with every goroutine's stack otherwise.
func Back(t TB, b Baseline, slack int, deadline time.Duration) {
	t.Helper()
	end := time.Now().Add(deadline)
	for {
		g, fds := runtime.NumGoroutine(), openFDs()
		if g <= b.Goroutines+slack && (b.FDs < 0 || fds <= b.FDs+slack) {
			return
		}
		if time.Now().After(end) {
			var stacks bytes.Buffer
			_ = pprof.Lookup("goroutine").WriteTo(&stacks, 1)
			t.Fatalf("after %s: %d goroutines (baseline %d) and %d open fds (baseline %d), slack %d; goroutines:\n%s",
				deadline, g, b.Goroutines, fds, b.FDs, slack, stacks.String())
		}
		time.Sleep(10 * time.Millisecond) // polling the counts, with a deadline
	}
}
