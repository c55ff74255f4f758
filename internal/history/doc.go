// Package history keeps a source's scrapes as Prometheus series in memory and answers
// PromQL over them with Prometheus' own query engine. It knows nothing of Kubernetes or
// HTTP: a caller hands it, per scrape, each target's samples with their final labels, and
// asks instant queries at a time, or reads the series through Queryable with an engine of
// its own.
//
// # Storage
//
// The series are held by a store of this package, not Prometheus' tsdb (whose package
// imports prometheus/config and, through it, the remote-write auth of three cloud SDKs):
// per series its labels and its samples in XOR chunks of up to 120 samples, and a
// postings index from label name and value to series for the matchers. The series a
// selector matched are kept for the next query asking it (an autoscaler asks the same
// few every poll) until a series is created or dropped (matchCache). The chunks are in
// tsdb/chunkenc's encoding and read by its iterator; the package appends to them itself
// (xorAppender, byte for byte what chunkenc writes), with the appender's state inside the
// series instead of two objects of their own per series.
// It serves storage.Queryable: a Select returns the matching series sorted by labels, skips
// chunks outside the hints' range, and hands out chunks that never change again (the
// chunk still appended to is copied). A Select whose hints are an instant query's
// instant selector's (the engine reads only each series' latest sample then) gets each
// series' latest sample alone, not the chunks of the lookback delta; the Querier must
// know its queries' lookback delta for that (History.QueryableLookback; serve passes a
// request's lookback_delta). Prometheus' own PromQL test files run against it
// (TestPromQLConformance).
//
// # Series as Prometheus writes them
//
// Every Append is one scrape of a set of targets. A series a target exposed at its previous
// scrape and not at this one gets a staleness marker at this scrape's time, as Prometheus'
// scrape loop writes one: so does every series of a target that is gone from the set, or
// whose scrape failed (the caller passes its up 0 sample and nothing else). An instant
// selector stops returning a series at its staleness marker instead of up to the lookback
// delta later. Series whose samples carry their own timestamps are not marked stale, as
// Prometheus does by default (track_timestamps_staleness: false).
//
// A series belongs to the target that exposed it last. Two targets exposing one label
// set (which podscrape's callers never make: every series carries its pod's instance
// label, and each pod is one target) share its series, and only its owner's vanishing
// writes a staleness marker, where a Prometheus server's scrape loops each write theirs.
// Keeping the owner in the series, not a map per target, is what lets a history hold no
// per-target copy of its series (BENCH.md).
//
// # Timestamps
//
// Samples are kept as Prometheus keeps them. A sample with a timestamp of its own is kept
// at any age the retention covers, in order per series: one at or before its series'
// newest sample is dropped and counted (a duplicate at the same millisecond is no error),
// and one more than FutureTolerance (10 minutes) ahead of its scrape is refused, counted
// and named in the error. Each target's samples are judged alone: there is no storage-wide
// newest time, so one pod's skewed clock never causes another pod's samples to be refused.
// AppendStats.RefusedSeries and RefusedNames say which series and metrics lost samples,
// so that a caller puts the error only on the queries selecting them (Selects).
//
// A sample without a timestamp of its own, or a staleness marker, that falls at its
// series' newest millisecond (two scrapes in one millisecond, a clock that does not move)
// or less than a second before it (a wall clock stepped back, as NTP steps one) is
// written one millisecond after it, as Prometheus writes a marker at the next distinct
// timestamp: the later scrape wins from there on, and no marker is lost. An Append a
// second or more older than the newest (the wall clock stepped back further) starts the
// History over: its windows fill again from there. A caller queries
// at AppendStats.Latest to read the whole Append, its own failed targets' up 0 included.
//
// # Bounds
//
// Retention drops samples older than the newest append minus Options.Retention, once the
// bound has moved a quarter retention since the last truncation (each truncation walks
// every series), so up to a quarter retention more is kept. Options.SeriesLimit bounds the
// series held: past it, new series are refused, counted, and reported by Append, while
// series already held (stale ones, or another target's) keep receiving samples.
//
// Once the retention has dropped a spike of series (a label's cardinality blowing up
// until a rollout fixes it), the room the index and the maps of series grew for it is
// given back: a postings list holding less than a quarter of its room, and the map of
// series and a label's map of values once they held more than four times what is left,
// at the truncation that drops them; a target's map of the series it exposed once 10 scrapes in a row exposed less
// than a quarter of its peak. A history or a target that keeps using its room (steady,
// or a spike every few scrapes) keeps it.
//
// # Concurrency
//
// A History is safe for concurrent use: appends are serialised, queries run alongside them
// and each sees the appends committed when it started, in all its selectors (Prometheus'
// head isolation). While queriers are open, appends keep, per series, where it stood for
// them; a Querier must be closed (promql's engine closes its own).
package history
