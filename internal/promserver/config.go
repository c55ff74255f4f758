package promserver

import (
	_ "embed"
	"fmt"
	"strconv"
	"strings"
	"time"

	"sigs.k8s.io/yaml"
)

// ScrapeConfigYAML is the one Prometheus scrape config of this repository: the jobs
// docs/backends.md shows users, and the template of every job PodScrapeConfig writes for
// the tests, the benchmarks and the demo. Its jobs share their relabelling rules; they
// differ in the Service's selector, the metrics port and the EPP's token.
//
//go:embed scrapeconfig.yaml
var ScrapeConfigYAML string

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
// through the kubeconfig, each job being the first job of ScrapeConfigYAML with the
// PodJob's name, namespace, selector, port, path and token: the same relabelling the
// docs show. metric_relabel_configs drop the job label from the scraped series, so those
// carry the same labels as a PodScrapingSource's history. Metric relabelling does not
// apply to the series Prometheus writes itself for each target (up,
// scrape_duration_seconds, scrape_samples_scraped and the other scrape_* series): those
// keep job and instance.
//
// It panics when ScrapeConfigYAML is not the shape it edits (a test keeps it so).
func PodScrapeConfig(kubeconfig string, interval time.Duration, jobs ...PodJob) string {
	out, err := podScrapeConfig(kubeconfig, interval, jobs)
	if err != nil {
		panic(fmt.Sprintf("promserver: scrapeconfig.yaml: %v", err))
	}
	return out
}

func podScrapeConfig(kubeconfig string, interval time.Duration, jobs []PodJob) (string, error) {
	var file struct {
		ScrapeConfigs []map[string]any `json:"scrape_configs"`
	}
	if err := yaml.UnmarshalStrict([]byte(ScrapeConfigYAML), &file); err != nil {
		return "", err
	}
	if len(file.ScrapeConfigs) == 0 {
		return "", fmt.Errorf("no scrape_configs")
	}
	out := make([]map[string]any, 0, len(jobs))
	for _, j := range jobs {
		// Each job gets its own copy of the template: a JSON round trip is a deep copy.
		var job map[string]any
		b, err := yaml.Marshal(file.ScrapeConfigs[0])
		if err != nil {
			return "", err
		}
		if err := yaml.Unmarshal(b, &job); err != nil {
			return "", err
		}
		path := j.Path
		if path == "" {
			path = "/metrics"
		}
		job["job_name"] = j.Name
		job["metrics_path"] = path
		delete(job, "authorization")
		if j.BearerTokenFile != "" {
			job["authorization"] = map[string]any{"credentials_file": j.BearerTokenFile}
		}
		sd, ok := job["kubernetes_sd_configs"].([]any)
		if !ok || len(sd) != 1 {
			return "", fmt.Errorf("job %q: want one kubernetes_sd_configs entry", j.Name)
		}
		pod, ok := sd[0].(map[string]any)
		if !ok {
			return "", fmt.Errorf("job %q: kubernetes_sd_configs[0] is not a map", j.Name)
		}
		pod["kubeconfig_file"] = kubeconfig
		pod["namespaces"] = map[string]any{"names": []any{j.Namespace}}
		pod["selectors"] = []any{map[string]any{"role": "pod", "label": j.Selector}}
		if err := setPort(job, j.Port); err != nil {
			return "", fmt.Errorf("job %q: %w", j.Name, err)
		}
		out = append(out, job)
	}
	cfg := map[string]any{
		"global": map[string]any{
			"scrape_interval":     interval.String(),
			"scrape_timeout":      interval.String(),
			"evaluation_interval": "1m",
		},
		"scrape_configs": out,
	}
	b, err := yaml.Marshal(cfg)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// setPort points the job's __address__ rules (IPv4, and IPv6 bracketed) at port: what
// follows the last ":" of each replacement.
func setPort(job map[string]any, port int) error {
	rules, _ := job["relabel_configs"].([]any)
	found := false
	for _, r := range rules {
		rule, ok := r.(map[string]any)
		if !ok || rule["target_label"] != "__address__" {
			continue
		}
		repl, _ := rule["replacement"].(string)
		i := strings.LastIndex(repl, ":")
		if i < 0 {
			return fmt.Errorf("__address__ rule replacement %q has no port", repl)
		}
		rule["replacement"] = repl[:i+1] + strconv.Itoa(port)
		found = true
	}
	if !found {
		return fmt.Errorf("no relabel_configs rule with target_label __address__")
	}
	return nil
}
