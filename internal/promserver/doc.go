// Package promserver runs the real Prometheus server (v0.316.0, built from the Go module
// proxy by tools/prometheus into bin/prometheus/) on loopback, for the differential tests,
// the benchmarks and the demo that compare podscrape with it.
//
// The server listens on 127.0.0.1 only, keeps its TSDB in a temporary directory removed at
// Stop, and discovers pods with kubernetes_sd_configs (role pod) through a kubeconfig
// file. PROMETHEUS_BINARY names another binary.
//
// Its scrape jobs come from one file, scrapeconfig.yaml (ScrapeConfigYAML), which
// docs/backends.md shows users as it is: a test keeps the two equal.
package promserver
