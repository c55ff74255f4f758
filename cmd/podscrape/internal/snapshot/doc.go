// Package snapshot turns the results of a pod scraping Refresh into a Snapshot: one
// Service's samples, filtered and ordered for display, and the status of every pod
// scraped. It is what the podscrape CLI renders (see internal/render).
//
// # Filters
//
// A Filter names metrics (--metric) and a regular expression on sample names (--match).
// Register adds the queries it needs to a source: one QueryTypeMetricName query per
// metric, so the parser skips everything else, plus the synthetic up,
// scrape_duration_seconds and scrape_samples_scraped series the pod status is read from;
// with no metric named, the all_metrics query.
//
// # Pod status
//
// A pod's status comes from its synthetic series, and its error from the
// *pod.ScrapeError that MetricResult.Error joins for it.
package snapshot
