// Package render writes a snapshot.Snapshot for people and for programs, in the formats
// of the podscrape CLI's -o flag:
//
//   - table: one row per sample (metric, pod, labels, value), then a row per pod (up,
//     duration, samples, error);
//   - wide: table with sample timestamps and the failure reason of each pod;
//   - json: one document with stable field names (see WriteJSON);
//   - prom: the Prometheus text format, family by family with the HELP and TYPE the
//     pods exposed, every series labelled with its pod, followed by the up,
//     scrape_duration_seconds and scrape_samples_scraped series of each pod, so that the
//     output can be piped to any Prometheus tool (see WriteProm).
//
// # Watching
//
// Diff compares two Snapshots of one Service; given its Changes, the table formats add a
// CHANGE column (the delta of each value, or "new") and a summary of what changed.
//
// Writers return the first write error; they do not modify the Snapshot.
package render
