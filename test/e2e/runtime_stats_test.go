package e2e

import "runtime"

// runtimeStats are the process' cumulative allocation counters.
type runtimeStats struct {
	bytes, allocs uint64
}

func readStats() *runtimeStats {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return &runtimeStats{bytes: m.TotalAlloc, allocs: m.Mallocs}
}
