// Package flight coalesces concurrent calls of the same work into one run that outlives
// no caller: callers with the same key share one execution, each caller may give up when
// its own context ends, and the work is cancelled (and waited for) when the last caller
// leaves.
//
// golang.org/x/sync/singleflight runs the work on the first caller's context, so that
// caller's cancellation fails every other caller; this package detaches the work from any
// single caller instead.
package flight
