package serve_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
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
// into: serve's own config loader, KEDA's ScaledObject and TriggerAuthentication,
// prometheus-adapter's rules and flags (as their code reads them: docs_consumers_test.go),
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
		// The block is a ScaledObject and the TriggerAuthentication it names, each
		// decoded strictly with KEDA's CRD fields (docs_consumers_test.go).
		docs := splitYAMLDocuments(blocks["KEDA"])
		if len(docs) != 2 {
			t.Fatalf("KEDA block: %d YAML documents, want a ScaledObject and a TriggerAuthentication", len(docs))
		}
		var so kedaScaledObject
		var ta kedaTriggerAuthentication
		unmarshalYAML(t, "KEDA ScaledObject", docs[0], &so)
		unmarshalYAML(t, "KEDA TriggerAuthentication", docs[1], &ta)
		if so.APIVersion != "keda.sh/v1alpha1" || so.Kind != "ScaledObject" || len(so.Spec.Triggers) != 1 || so.Spec.Triggers[0].Type != "prometheus" {
			t.Fatalf("KEDA block: %+v, want a keda.sh/v1alpha1 ScaledObject with one prometheus trigger", so)
		}
		if ta.APIVersion != "keda.sh/v1alpha1" || ta.Kind != "TriggerAuthentication" {
			t.Fatalf("KEDA block's second object: %s %s, want a keda.sh/v1alpha1 TriggerAuthentication", ta.APIVersion, ta.Kind)
		}
		trigger := so.Spec.Triggers[0]
		md := trigger.Metadata
		// The CRD's trigger metadata is a map of strings: kubectl sends the YAML as JSON
		// untyped (`false`, `4` unquoted are a boolean and a number), and the API server
		// refuses any value that is not a string. The typed decode above would take them.
		generic, err := yaml.YAMLToJSON([]byte(docs[0]))
		if err != nil {
			t.Fatal(err)
		}
		var untyped struct {
			Spec struct {
				Triggers []struct {
					Metadata map[string]any `json:"metadata"`
				} `json:"triggers"`
			} `json:"spec"`
		}
		if err := json.Unmarshal(generic, &untyped); err != nil {
			t.Fatal(err)
		}
		for k, v := range untyped.Spec.Triggers[0].Metadata {
			if _, ok := v.(string); !ok {
				t.Errorf("trigger metadata %s: %v is a %T, which KEDA's CRD (a map of strings) refuses: quote it", k, v, v)
			}
		}
		// Every key is one the prometheus scaler reads, exactly so spelt, and its value
		// parses as KEDA parses it: a key KEDA does not read is ignored without a word,
		// and its setting (ignoreNullValues above all) keeps KEDA's default.
		parsed := map[string]any{}
		for k, v := range md {
			kind, ok := kedaPrometheusMetadata[k]
			if !ok {
				t.Errorf("trigger metadata %q: KEDA's prometheus scaler reads no such key (it is ignored, its setting left at KEDA's default)", k)
				continue
			}
			p, err := kedaParse(kind, v)
			if err != nil {
				t.Errorf("trigger metadata %s: %q: KEDA refuses it: %v", k, v, err)
				continue
			}
			parsed[k] = p
		}
		if md["serverAddress"] != address {
			t.Errorf("serverAddress %q, want deploy/'s Service %q", md["serverAddress"], address)
		}
		if _, err := pr.ParseExpr(md["query"]); err != nil {
			t.Errorf("query %q: %v", md["query"], err)
		}
		if _, ok := parsed["threshold"]; !ok {
			t.Errorf("no threshold: KEDA's prometheus scaler requires one")
		}
		// KEDA reads an empty answer as 0 unless told otherwise (ignoreNullValues'
		// default=true in prometheusMetadata).
		if v, ok := parsed["ignoreNullValues"]; !ok || v != false {
			t.Errorf("ignoreNullValues %q, want \"false\" (a string, as KEDA's metadata is)", md["ignoreNullValues"])
		}
		// deploy/ runs serve with --auth kubernetes: KEDA must send a token. It sends
		// one with authModes bearer, read from the TriggerAuthentication's bearerToken
		// (or token) parameter (authentication.Config), in the ScaledObject's namespace.
		modes, _ := parsed["authModes"].([]string)
		if !contains(modes, "bearer") {
			t.Errorf("authModes %q, want bearer", md["authModes"])
		}
		if trigger.AuthenticationRef == nil || trigger.AuthenticationRef.Name != ta.Metadata.Name ||
			(trigger.AuthenticationRef.Kind != "" && trigger.AuthenticationRef.Kind != "TriggerAuthentication") {
			t.Errorf("trigger's authenticationRef %+v, want the TriggerAuthentication %q", trigger.AuthenticationRef, ta.Metadata.Name)
		}
		if ta.Metadata.Namespace != so.Metadata.Namespace {
			t.Errorf("TriggerAuthentication in namespace %q, ScaledObject in %q: KEDA looks it up in the ScaledObject's", ta.Metadata.Namespace, so.Metadata.Namespace)
		}
		bearer := 0
		for _, p := range ta.parameters() {
			if contains(kedaBearerTokenParams, p) {
				bearer++
			}
		}
		if bearer == 0 {
			t.Errorf("TriggerAuthentication parameters %v: none is %v, which KEDA's bearer auth reads its token from", ta.parameters(), kedaBearerTokenParams)
		}
		for _, b := range ta.Spec.BoundServiceAccountToken {
			if b.ServiceAccountName == "" {
				t.Errorf("boundServiceAccountToken %+v: no serviceAccountName", b)
			}
		}
		// deploy/ runs serve with --max-age: without a query timeout, a hung pod holds
		// every poll for the pod timeout (5 s by default), past KEDA's HTTP client's (3 s
		// by default, or the trigger's timeout), and every poll fails. The query's
		// timeout, sent as a query parameter, must end the wait before KEDA gives up.
		clientTimeout := kedaDefaultHTTPTimeout
		if d, ok := parsed["timeout"].(time.Duration); ok && d > 0 {
			clientTimeout = d
		}
		var queryTimeout time.Duration
		qp, _ := parsed["queryParameters"].(map[string]string)
		if v, ok := qp["timeout"]; ok {
			d, err := model.ParseDuration(v)
			if err != nil {
				t.Fatalf("queryParameters timeout %q: %v", v, err)
			}
			queryTimeout = time.Duration(d)
		}
		if queryTimeout <= 0 || queryTimeout >= clientTimeout {
			t.Errorf("queryParameters %q: want a timeout=D below KEDA's HTTP timeout of %s, so that a hung pod leaves that pod out instead of failing every poll", md["queryParameters"], clientTimeout)
		}
	})

	t.Run("prometheus-adapter", func(t *testing.T) {
		text := blocks["prometheus-adapter"]
		flags := commentFlags(text)
		for f := range flags {
			if (strings.HasPrefix(f, "prometheus-") || strings.HasPrefix(f, "metrics-") || f == "config") && !contains(adapterFlags, f) {
				t.Errorf("adapter block: --%s is no flag of prometheus-adapter's", f)
			}
		}
		// cmd/adapter/adapter.go's loadConfig: without --config the adapter exits
		// ("no metrics discovery configuration file specified").
		if flags["config"] == "" {
			t.Errorf("adapter block gives no --config=FILE, without which the adapter exits:\n%s", text)
		}
		if flags["prometheus-url"] != address {
			t.Errorf("adapter block's --prometheus-url %q, want deploy/'s Service %s:\n%s", flags["prometheus-url"], address, text)
		}
		// deploy/ runs serve with --auth kubernetes: the adapter must send a token.
		// --prometheus-auth-incluster sends its ServiceAccount's through client-go's
		// transport (rest.InClusterConfig's token file, re-read as it rotates);
		// --prometheus-token-file is read once at start (makePromClient), so a projected
		// token would expire under it; with --prometheus-auth-config, incluster is an error.
		if _, ok := flags["prometheus-auth-incluster"]; !ok {
			t.Errorf("adapter block sends no token (--prometheus-auth-incluster):\n%s", text)
		}
		if _, ok := flags["prometheus-auth-config"]; ok {
			t.Errorf("adapter block sets --prometheus-auth-config with --prometheus-auth-incluster: the adapter refuses both")
		}
		cfg, err := loadAdapterConfig(text)
		if err != nil {
			t.Fatalf("prometheus-adapter block as the adapter loads it (yaml.v2 UnmarshalStrict): %v\n%s", err, text)
		}
		if len(cfg.Rules) != 1 {
			t.Fatalf("%d rules, want 1", len(cfg.Rules))
		}
		r := cfg.Rules[0]
		if _, err := pr.ParseMetricSelector(r.SeriesQuery); err != nil {
			t.Errorf("seriesQuery %q: %v", r.SeriesQuery, err)
		}
		// The name the HPA's pods metric is asked by, as the adapter names the series.
		const series = "vllm:num_requests_waiting"
		name, err := r.metricName(series)
		if err != nil {
			t.Fatalf("name of series %s: %v", series, err)
		}
		if !strings.Contains(readFile(t, "../docs/serve.md"), "`pods` metric `"+name+"`") {
			t.Errorf("the adapter names the metric %q, which docs/serve.md does not tell the HPA to scale on", name)
		}
		// What the adapter sends for a pods metric of the HPA.
		for _, pods := range [][]string{{"vllm-0"}, {"vllm-0", "vllm-1"}} {
			q, err := r.podsQuery(series, "llm-d", pods...)
			if err != nil {
				t.Errorf("metricsQuery %q for pods %v: %v", r.MetricsQuery, pods, err)
				continue
			}
			if _, err := pr.ParseExpr(q); err != nil {
				t.Errorf("metricsQuery %q as the adapter fills it in (%q): %v", r.MetricsQuery, q, err)
			}
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
