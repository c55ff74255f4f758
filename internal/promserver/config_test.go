package promserver

import (
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	promconfig "github.com/prometheus/prometheus/config"
	_ "github.com/prometheus/prometheus/discovery/kubernetes" // registers kubernetes_sd_configs
	"sigs.k8s.io/yaml"
)

type scrapeFile struct {
	ScrapeConfigs []map[string]any `json:"scrape_configs"`
}

func parseScrapeConfigs(t *testing.T, text string) []map[string]any {
	t.Helper()
	var f scrapeFile
	if err := yaml.Unmarshal([]byte(text), &f); err != nil {
		t.Fatal(err)
	}
	if len(f.ScrapeConfigs) == 0 {
		t.Fatal("no scrape_configs")
	}
	return f.ScrapeConfigs
}

// rulesWithoutAddress returns a job's relabel_configs but its __address__ rule, which
// differs per job only by the port.
func rulesWithoutAddress(t *testing.T, job map[string]any) []any {
	t.Helper()
	var out []any
	found := false
	for _, r := range job["relabel_configs"].([]any) {
		if r.(map[string]any)["target_label"] == "__address__" {
			found = true
			continue
		}
		out = append(out, r)
	}
	if !found {
		t.Fatalf("job %v: no __address__ rule", job["job_name"])
	}
	return out
}

// TestScrapeConfigYAMLLoads loads the shipped file and what PodScrapeConfig makes of it
// with Prometheus' own config loader, as the server does.
func TestScrapeConfigYAMLLoads(t *testing.T) {
	if _, err := promconfig.Load(ScrapeConfigYAML, nil); err != nil {
		t.Fatalf("scrapeconfig.yaml: %v", err)
	}
	out := PodScrapeConfig("/tmp/kubeconfig", 2*time.Second,
		PodJob{Name: "a", Namespace: "ns1", Selector: "app=a", Port: 8000},
		PodJob{Name: "b", Namespace: "ns2", Selector: "app=b,x=y", Port: 9090, Path: "/m", BearerTokenFile: "/tmp/token"})
	cfg, err := promconfig.Load(out, nil)
	if err != nil {
		t.Fatalf("PodScrapeConfig: %v\n%s", err, out)
	}
	if got := time.Duration(cfg.GlobalConfig.ScrapeInterval); got != 2*time.Second {
		t.Errorf("scrape_interval: got %v, want 2s", got)
	}
	jobs, err := cfg.GetScrapeConfigs()
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 2 || jobs[0].JobName != "a" || jobs[1].JobName != "b" {
		t.Fatalf("jobs: got %d, want a and b", len(jobs))
	}
	if jobs[0].HTTPClientConfig.Authorization != nil {
		t.Errorf("job a: got authorization, want none")
	}
	if a := jobs[1].HTTPClientConfig.Authorization; a == nil || a.CredentialsFile != "/tmp/token" {
		t.Errorf("job b: got authorization %+v, want credentials_file /tmp/token", a)
	}
	if jobs[1].MetricsPath != "/m" {
		t.Errorf("job b: metrics_path %q, want /m", jobs[1].MetricsPath)
	}
}

// TestPodScrapeConfigKeepsTheFileRules requires every job PodScrapeConfig writes to carry
// the file's relabelling, but for the port, so the tests run what the docs show.
func TestPodScrapeConfigKeepsTheFileRules(t *testing.T) {
	tmpl := parseScrapeConfigs(t, ScrapeConfigYAML)[0]
	out := PodScrapeConfig("/tmp/kubeconfig", time.Second,
		PodJob{Name: "a", Namespace: "ns1", Selector: "app=a", Port: 8123})
	job := parseScrapeConfigs(t, out)[0]
	if got, want := rulesWithoutAddress(t, job), rulesWithoutAddress(t, tmpl); !reflect.DeepEqual(got, want) {
		t.Errorf("relabel_configs: got %v, want the file's %v", got, want)
	}
	if got, want := job["metric_relabel_configs"], tmpl["metric_relabel_configs"]; !reflect.DeepEqual(got, want) {
		t.Errorf("metric_relabel_configs: got %v, want the file's %v", got, want)
	}
	if !strings.Contains(out, "$1:8123") {
		t.Errorf("no address rule with port 8123 in\n%s", out)
	}
	sd := job["kubernetes_sd_configs"].([]any)[0].(map[string]any)
	if sd["kubeconfig_file"] != "/tmp/kubeconfig" || !reflect.DeepEqual(sd["namespaces"], map[string]any{"names": []any{"ns1"}}) ||
		!reflect.DeepEqual(sd["selectors"], []any{map[string]any{"role": "pod", "label": "app=a"}}) {
		t.Errorf("kubernetes_sd_configs: got %v", sd)
	}
}

// TestScrapeConfigJobsAgree keeps the file's jobs on the same relabelling: a rule added
// to one job only would make the Services' series disagree.
func TestScrapeConfigJobsAgree(t *testing.T) {
	jobs := parseScrapeConfigs(t, ScrapeConfigYAML)
	for _, j := range jobs[1:] {
		if got, want := rulesWithoutAddress(t, j), rulesWithoutAddress(t, jobs[0]); !reflect.DeepEqual(got, want) {
			t.Errorf("job %v relabel_configs: got %v, want job %v's %v", j["job_name"], got, jobs[0]["job_name"], want)
		}
		if got, want := j["metric_relabel_configs"], jobs[0]["metric_relabel_configs"]; !reflect.DeepEqual(got, want) {
			t.Errorf("job %v metric_relabel_configs: got %v, want job %v's %v", j["job_name"], got, jobs[0]["job_name"], want)
		}
	}
}

// yamlBlocks returns the ```yaml blocks of a Markdown file.
func yamlBlocks(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var blocks []string
	rest := string(data)
	for {
		_, after, ok := strings.Cut(rest, "```yaml\n")
		if !ok {
			return blocks
		}
		block, tail, ok := strings.Cut(after, "```\n")
		if !ok {
			t.Fatalf("%s: unterminated yaml block", path)
		}
		blocks = append(blocks, block)
		rest = tail
	}
}

const backendsDoc = "../../docs/backends.md"

// TestDocsShowTheScrapeConfig requires docs/backends.md to show scrapeconfig.yaml as it is.
func TestDocsShowTheScrapeConfig(t *testing.T) {
	for _, b := range yamlBlocks(t, backendsDoc) {
		if strings.Contains(b, "scrape_configs:") {
			if b != ScrapeConfigYAML {
				t.Fatalf("%s: the scrape_configs block differs from internal/promserver/scrapeconfig.yaml; paste the file:\n%s", backendsDoc, ScrapeConfigYAML)
			}
			return
		}
	}
	t.Fatalf("%s: no yaml block with scrape_configs", backendsDoc)
}

// camelRules turns a PodMonitor's relabelings into scrape-config form.
func camelRules(rules []any) []any {
	names := map[string]string{"sourceLabels": "source_labels", "targetLabel": "target_label"}
	out := make([]any, 0, len(rules))
	for _, r := range rules {
		m := map[string]any{}
		for k, v := range r.(map[string]any) {
			if n, ok := names[k]; ok {
				k = n
			}
			m[k] = v
		}
		out = append(out, m)
	}
	return out
}

// TestDocsPodMonitorsMatchTheScrapeConfig requires the docs' PodMonitors to relabel as the
// scrape config does: the same relabelings but the address (the operator sets it from the
// port), the same metric relabelings plus dropping the operator's container and endpoint
// labels, and a token where the scrape config's job of the same name has one.
func TestDocsPodMonitorsMatchTheScrapeConfig(t *testing.T) {
	jobs := map[string]map[string]any{}
	for _, j := range parseScrapeConfigs(t, ScrapeConfigYAML) {
		jobs[j["job_name"].(string)] = j
	}
	var seen int
	for _, b := range yamlBlocks(t, backendsDoc) {
		if !strings.Contains(b, "kind: PodMonitor") {
			continue
		}
		for _, doc := range strings.Split(b, "\n---\n") {
			var pm struct {
				Kind     string `json:"kind"`
				Metadata struct {
					Name string `json:"name"`
				} `json:"metadata"`
				Spec struct {
					Endpoints []map[string]any `json:"podMetricsEndpoints"`
				} `json:"spec"`
			}
			if err := yaml.Unmarshal([]byte(doc), &pm); err != nil {
				t.Fatalf("PodMonitor block: %v", err)
			}
			job, ok := jobs[pm.Metadata.Name]
			if pm.Kind != "PodMonitor" || !ok || len(pm.Spec.Endpoints) != 1 {
				t.Fatalf("PodMonitor %q: want a PodMonitor named as a scrape config job, with one endpoint", pm.Metadata.Name)
			}
			seen++
			ep := pm.Spec.Endpoints[0]
			if got, want := camelRules(ep["relabelings"].([]any)), rulesWithoutAddress(t, job); !reflect.DeepEqual(got, want) {
				t.Errorf("PodMonitor %s relabelings: got %v, want %v", pm.Metadata.Name, got, want)
			}
			var want []any
			for _, r := range job["metric_relabel_configs"].([]any) {
				m := r.(map[string]any)
				if m["action"] == "labeldrop" {
					m = map[string]any{"action": "labeldrop", "regex": m["regex"].(string) + "|container|endpoint"}
				}
				want = append(want, m)
			}
			if got := camelRules(ep["metricRelabelings"].([]any)); !reflect.DeepEqual(got, want) {
				t.Errorf("PodMonitor %s metricRelabelings: got %v, want %v", pm.Metadata.Name, got, want)
			}
			if _, got := ep["authorization"]; got != (job["authorization"] != nil) {
				t.Errorf("PodMonitor %s: authorization %v, want as the scrape config's job (%v)", pm.Metadata.Name, got, job["authorization"] != nil)
			}
		}
	}
	if seen != len(jobs) {
		t.Fatalf("%s: %d PodMonitors, want one per scrape config job (%d)", backendsDoc, seen, len(jobs))
	}
}
