package serve_test

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/promql/parser"
	"sigs.k8s.io/yaml"

	"github.com/podscrape/podscrape/serve"
)

// docYAML returns the first yaml code block under each "## " heading of a Markdown file.
func docYAML(t *testing.T, file string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	var heading string
	var block []string
	in := false
	for _, line := range strings.Split(string(data), "\n") {
		switch {
		case in && strings.HasPrefix(line, "```"):
			in = false
			if _, ok := out[heading]; !ok {
				out[heading] = strings.Join(block, "\n")
			}
		case in:
			block = append(block, line)
		case line == "```yaml":
			in, block = true, nil
		case strings.HasPrefix(line, "## "):
			heading = strings.TrimPrefix(line, "## ")
		}
	}
	return out
}

// unmarshalYAML decodes YAML text into v, failing the test with where it came from.
func unmarshalYAML(t *testing.T, where, text string, v any) {
	t.Helper()
	if err := yaml.UnmarshalStrict([]byte(text), v); err != nil {
		t.Fatalf("%s: %v\n%s", where, err, text)
	}
}

// TestServeDocYAML holds docs/serve.md's copyable YAML to what its readers paste it
// into: serve's own config loader, KEDA's ScaledObject, prometheus-adapter's rules,
// deploy/'s reader role and Prometheus' configuration loader.
func TestServeDocYAML(t *testing.T) {
	blocks := docYAML(t, "../docs/serve.md")
	pr := parser.NewParser(parser.Options{})

	// The address KEDA, the adapter and Grafana point at is deploy/'s Service.
	var svc struct {
		Metadata struct{ Name, Namespace string } `json:"metadata"`
		Spec     struct {
			Ports []struct{ Port int } `json:"ports"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal([]byte(readFile(t, "../deploy/service.yaml")), &svc); err != nil {
		t.Fatal(err)
	}
	if len(svc.Spec.Ports) != 1 || svc.Metadata.Namespace == "" {
		t.Fatalf("deploy/service.yaml: %d ports, namespace %q; want 1 port and a namespace", len(svc.Spec.Ports), svc.Metadata.Namespace)
	}
	address := fmt.Sprintf("http://%s.%s.svc:%d", svc.Metadata.Name, svc.Metadata.Namespace, svc.Spec.Ports[0].Port)

	t.Run("config file", func(t *testing.T) {
		text, ok := blocks["Flags and config file"]
		if !ok {
			t.Fatal("no yaml block under 'Flags and config file'")
		}
		path := filepath.Join(t.TempDir(), "serve.yaml")
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		services, err := serve.LoadFile(path, "default")
		if err != nil {
			t.Fatalf("serve.LoadFile of the doc's config: %v\n%s", err, text)
		}
		if len(services) != 2 || services[0].Source.ServiceName != "vllm" || services[1].Source.ServiceName != "epp-service" {
			t.Errorf("services %+v, want vllm and epp-service", services)
		}
	})

	t.Run("KEDA", func(t *testing.T) {
		var so struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Spec       struct {
				Triggers []struct {
					Type     string            `json:"type"`
					Metadata map[string]string `json:"metadata"`
				} `json:"triggers"`
			} `json:"spec"`
		}
		if err := yaml.Unmarshal([]byte(blocks["KEDA"]), &so); err != nil {
			t.Fatalf("KEDA: %v", err)
		}
		if so.APIVersion != "keda.sh/v1alpha1" || so.Kind != "ScaledObject" || len(so.Spec.Triggers) != 1 || so.Spec.Triggers[0].Type != "prometheus" {
			t.Fatalf("KEDA block: %+v, want a keda.sh/v1alpha1 ScaledObject with one prometheus trigger", so)
		}
		md := so.Spec.Triggers[0].Metadata
		if md["serverAddress"] != address {
			t.Errorf("serverAddress %q, want deploy/'s Service %q", md["serverAddress"], address)
		}
		if _, err := pr.ParseExpr(md["query"]); err != nil {
			t.Errorf("query %q: %v", md["query"], err)
		}
		// deploy/ runs serve with --auth kubernetes: KEDA must send a token.
		if md["authModes"] != "bearer" {
			t.Errorf("authModes %q, want bearer", md["authModes"])
		}
		// KEDA reads an empty answer as 0 unless told otherwise.
		if md["ignoreNullValues"] != "false" {
			t.Errorf("ignoreNullValues %q, want \"false\" (a string, as KEDA's metadata is)", md["ignoreNullValues"])
		}
		// deploy/ runs serve with --max-age: without a query timeout, a hung pod holds
		// every poll for the pod timeout (5 s by default), past KEDA's HTTP client's (3 s
		// by default, or the trigger's timeout in ms), and every poll fails. The query's
		// timeout, sent as a query parameter, must end the wait before KEDA gives up.
		clientTimeout := 3 * time.Second
		if v, ok := md["timeout"]; ok {
			ms, err := strconv.Atoi(v)
			if err != nil {
				t.Fatalf("timeout %q: %v", v, err)
			}
			clientTimeout = time.Duration(ms) * time.Millisecond
		}
		var queryTimeout time.Duration
		for _, kv := range strings.Split(md["queryParameters"], ",") {
			if k, v, _ := strings.Cut(kv, "="); k == "timeout" {
				d, err := model.ParseDuration(v)
				if err != nil {
					t.Fatalf("queryParameters timeout %q: %v", v, err)
				}
				queryTimeout = time.Duration(d)
			}
		}
		if queryTimeout <= 0 || queryTimeout >= clientTimeout {
			t.Errorf("queryParameters %q: want a timeout=D below KEDA's HTTP timeout of %s, so that a hung pod leaves that pod out instead of failing every poll", md["queryParameters"], clientTimeout)
		}
	})

	t.Run("prometheus-adapter", func(t *testing.T) {
		text := blocks["prometheus-adapter"]
		if !strings.Contains(text, "--prometheus-url="+address+" ") {
			t.Errorf("adapter block does not point --prometheus-url at %s:\n%s", address, text)
		}
		// deploy/ runs serve with --auth kubernetes: the adapter must send a token.
		if !strings.Contains(text, "--prometheus-auth-incluster") {
			t.Errorf("adapter block sends no token (--prometheus-auth-incluster):\n%s", text)
		}
		var cfg struct {
			Rules []struct {
				SeriesQuery string `json:"seriesQuery"`
				Resources   struct {
					Overrides map[string]struct{ Resource string } `json:"overrides"`
				} `json:"resources"`
				Name struct {
					As string `json:"as"`
				} `json:"name"`
				MetricsQuery string `json:"metricsQuery"`
			} `json:"rules"`
		}
		unmarshalYAML(t, "prometheus-adapter", text, &cfg)
		if len(cfg.Rules) != 1 {
			t.Fatalf("%d rules, want 1", len(cfg.Rules))
		}
		r := cfg.Rules[0]
		if _, err := pr.ParseMetricSelector(r.SeriesQuery); err != nil {
			t.Errorf("seriesQuery %q: %v", r.SeriesQuery, err)
		}
		for _, label := range []string{"namespace", "pod"} {
			if r.Resources.Overrides[label].Resource != label {
				t.Errorf("override of label %s: %+v, want resource %s", label, r.Resources.Overrides[label], label)
			}
		}
		// What the adapter sends for a pods metric of the HPA.
		q := strings.NewReplacer("<<.GroupBy>>", "pod", "<<.Series>>", "vllm:num_requests_waiting",
			"<<.LabelMatchers>>", `namespace="llm-d",pod=~"vllm-0|vllm-1"`).Replace(r.MetricsQuery)
		if _, err := pr.ParseExpr(q); err != nil {
			t.Errorf("metricsQuery %q as the adapter fills it in (%q): %v", r.MetricsQuery, q, err)
		}
	})

	t.Run("reader RBAC", func(t *testing.T) {
		type rules struct {
			Rules []map[string][]string `json:"rules"`
		}
		var doc, deploy rules
		unmarshalYAML(t, "RBAC and `--auth kubernetes`", blocks["RBAC and `--auth kubernetes`"], &doc)
		if err := yaml.Unmarshal([]byte(readFile(t, "../deploy/reader-rbac.yaml")), &deploy); err != nil {
			t.Fatal(err)
		}
		if len(doc.Rules) == 0 || !reflect.DeepEqual(doc.Rules, deploy.Rules) {
			t.Errorf("docs/serve.md's reader rules %v, want deploy/reader-rbac.yaml's %v", doc.Rules, deploy.Rules)
		}
	})

	t.Run("federation", func(t *testing.T) {
		text := blocks["Scaling past one replica"]
		cfg, err := config.Load(text, nil)
		if err != nil {
			t.Fatalf("Prometheus' config.Load of the doc's federation config: %v\n%s", err, text)
		}
		if len(cfg.ScrapeConfigs) != 1 {
			t.Fatalf("%d scrape configs, want 1", len(cfg.ScrapeConfigs))
		}
		sc := cfg.ScrapeConfigs[0]
		if sc.MetricsPath != "/federate" || !sc.HonorLabels || len(sc.Params["match[]"]) == 0 {
			t.Errorf("scrape config: path %q, honor_labels %v, match[] %v; want /federate, true and a selector", sc.MetricsPath, sc.HonorLabels, sc.Params["match[]"])
		}
		for _, m := range sc.Params["match[]"] {
			if _, err := pr.ParseMetricSelector(m); err != nil {
				t.Errorf("match[] %q: %v", m, err)
			}
		}
	})
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
