package promserver

import (
	"fmt"
	"strings"
	"time"
)

// PodJob is one scrape job of PodScrapeConfig: the Ready pods selected by a Service's
// selector, as a PodScrapingSource scrapes them.
type PodJob struct {
	// Name is the job name.
	Name string
	// Namespace is the Service's namespace.
	Namespace string
	// Selector is the Service's selector as a label selector string ("app=vllm").
	Selector string
	// Port is the pods' metrics port.
	Port int
	// Path is the metrics path. Zero: /metrics.
	Path string
	// BearerTokenFile, when set, authorizes the scrapes.
	BearerTokenFile string
}

// PodScrapeConfig returns a prometheus.yml scraping each job's Ready pods every interval
// with the usual pod-role relabelling: the pod IP and the job's port as the address, and
// the namespace and pod labels. metric_relabel_configs drop the job and instance labels
// from the scraped series, so those carry the same labels as a PodScrapingSource's
// history. Metric relabelling does not apply to the series Prometheus writes itself for
// each target (up, scrape_duration_seconds, scrape_samples_scraped and the other
// scrape_* series): those keep job and instance.
func PodScrapeConfig(kubeconfig string, interval time.Duration, jobs ...PodJob) string {
	var b strings.Builder
	fmt.Fprintf(&b, "global:\n  scrape_interval: %s\n  scrape_timeout: %s\n  evaluation_interval: 1m\nscrape_configs:\n", interval, interval)
	for _, j := range jobs {
		path := j.Path
		if path == "" {
			path = "/metrics"
		}
		fmt.Fprintf(&b, "- job_name: %q\n  metrics_path: %q\n", j.Name, path)
		if j.BearerTokenFile != "" {
			fmt.Fprintf(&b, "  authorization:\n    credentials_file: %q\n", j.BearerTokenFile)
		}
		fmt.Fprintf(&b, "  kubernetes_sd_configs:\n  - role: pod\n    kubeconfig_file: %q\n    namespaces:\n      names: [%q]\n    selectors:\n    - role: pod\n      label: %q\n",
			kubeconfig, j.Namespace, j.Selector)
		fmt.Fprintf(&b, `  relabel_configs:
  - source_labels: [__meta_kubernetes_pod_ready]
    regex: "true"
    action: keep
  - source_labels: [__meta_kubernetes_pod_ip]
    regex: "(.+)"
    target_label: __address__
    replacement: "$1:%d"
  - source_labels: [__meta_kubernetes_namespace]
    target_label: namespace
  - source_labels: [__meta_kubernetes_pod_name]
    target_label: pod
  metric_relabel_configs:
  - regex: "job|instance"
    action: labeldrop
`, j.Port)
	}
	return b.String()
}
