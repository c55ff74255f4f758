// Package history keeps a source's scrapes as Prometheus series and answers PromQL over
// them, with Prometheus' own storage (the tsdb head, in memory, without a WAL) and its own
// query engine. It knows nothing of Kubernetes or HTTP: a caller hands it, per scrape, each
// target's samples with their final labels, and asks instant queries at a time.
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
// # Bounds
//
// Retention drops samples older than the newest append minus Options.Retention (at chunk
// granularity, so up to Options.Retention/4 more is kept). Options.SeriesLimit bounds the
// series held: past it, new series are refused, counted, and reported by Append, while
// series already held keep receiving samples.
//
// # Concurrency
//
// A History is safe for concurrent use: appends are serialised, queries run alongside them
// and see only committed appends.
package history
