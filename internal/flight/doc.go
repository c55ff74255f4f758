// Package flight coalesces concurrent calls for overlapping work into shared runs that
// outlive no caller: a caller joins the run in progress when that run covers what it
// wants, else waits for the next run, which merges what every waiting caller wants; runs
// never overlap; each caller may give up when its own context ends, and a run is
// cancelled (and waited for) when its last caller leaves.
//
// golang.org/x/sync/singleflight shares a run only among callers of one exact key and
// runs it on the first caller's context, so that caller's cancellation fails every other
// caller; this package shares by coverage and detaches the run from any single caller.
package flight
