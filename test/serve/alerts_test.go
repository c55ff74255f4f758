package serve

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"sigs.k8s.io/yaml"

	"github.com/podscrape/podscrape/internal/promserver"
	"github.com/podscrape/podscrape/podscrapetest"
	"github.com/podscrape/podscrape/serve"
	"github.com/podscrape/podscrape/source"
	"github.com/podscrape/podscrape/source/pod"
)

// families are the label names of each series name an exposition holds (a histogram's
// _bucket, _sum and _count each).
type families map[string][]string

// familiesOf reads the families of a text exposition.
func familiesOf(t *testing.T, text []byte) families {
	t.Helper()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := parser.TextToMetricFamilies(bytes.NewReader(text))
	if err != nil {
		t.Fatalf("exposition does not parse: %v", err)
	}
	out := families{}
	for name, mf := range mfs {
		var ls []string
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if !slices.Contains(ls, l.GetName()) {
					ls = append(ls, l.GetName())
				}
			}
		}
		slices.Sort(ls)
		out[name] = ls
		if mf.GetType().String() == "HISTOGRAM" {
			out[name+"_bucket"] = slices.Sorted(slices.Values(append(slices.Clone(ls), "le")))
			out[name+"_sum"], out[name+"_count"] = ls, ls
		}
	}
	return out
}

// rulesFile is a Prometheus rules file, as far as the checks read it.
type rulesFile struct {
	Groups []struct {
		Name  string `json:"name"`
		Rules []struct {
			Alert string `json:"alert"`
			Expr  string `json:"expr"`
		} `json:"rules"`
	} `json:"groups"`
}

// rulesTests is a promtool test rules file, as far as the checks read it.
type rulesTests struct {
	Tests []struct {
		InputSeries []struct {
			Series string `json:"series"`
		} `json:"input_series"`
		AlertRuleTest []struct {
			Alertname string `json:"alertname"`
			ExpAlerts []any  `json:"exp_alerts"`
		} `json:"alert_rule_test"`
	} `json:"tests"`
}

// docAlerts returns the first yaml block after the line heading of a Markdown file, and
// the file's text outside its code blocks.
func docAlerts(t *testing.T, file, heading string) (rules, prose string) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var block, text []string
	under, in, done := false, false, false
	for _, line := range strings.Split(string(data), "\n") {
		fence := strings.HasPrefix(strings.TrimSpace(line), "```") // in a list item too
		switch {
		case in && fence:
			in, done = false, done || under
		case in:
			if under && !done {
				block = append(block, line)
			}
		case fence:
			in = true
		case line == heading:
			under = true
		default:
			text = append(text, line)
		}
	}
	if len(block) == 0 {
		t.Fatalf("%s: no yaml block under %q", file, heading)
	}
	return strings.Join(block, "\n") + "\n", strings.Join(text, "\n")
}

// checkExpr parses expr with Prometheus' parser and checks that each metric it reads is
// one of fams, each label it matches or groups by one of those metrics' labels.
func checkExpr(t *testing.T, where, expr string, fams families) {
	t.Helper()
	e, err := parser.NewParser(parser.Options{}).ParseExpr(expr)
	if err != nil {
		t.Errorf("%s: %q does not parse: %v", where, expr, err)
		return
	}
	// labelsUnder are the label names of the metrics the selectors under n read.
	labelsUnder := func(n parser.Node) map[string]bool {
		out := map[string]bool{}
		parser.Inspect(n, func(n parser.Node, _ []parser.Node) error {
			if vs, ok := n.(*parser.VectorSelector); ok {
				for _, l := range fams[vs.Name] {
					out[l] = true
				}
			}
			return nil
		})
		return out
	}
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		switch n := n.(type) {
		case *parser.VectorSelector:
			ls, ok := fams[n.Name]
			if !ok {
				t.Errorf("%s: %q reads %s, which is not registered", where, expr, n.Name)
				return nil
			}
			for _, m := range n.LabelMatchers {
				if m.Name != labels.MetricName && !slices.Contains(ls, m.Name) {
					t.Errorf("%s: %q matches label %s of %s, which has only %v", where, expr, m.Name, n.Name, ls)
				}
			}
		case *parser.AggregateExpr:
			have := labelsUnder(n.Expr)
			for _, l := range n.Grouping {
				if !have[l] {
					t.Errorf("%s: %q groups by %s, which the metrics it reads lack", where, expr, l)
				}
			}
		}
		return nil
	})
}

// comparison is an inline expression that alerts: a comparison with a number.
var comparison = regexp.MustCompile(`(>|<|==|!=)=?\s*[0-9]`)

// checkAlerts holds the Alerts of a doc to fams, the families a real exposition holds:
// every rule's expression and every inline alert expression of the doc parse and read
// registered metrics and labels; the rules pass promtool check rules, and promtool test
// rules with tests, whose series are shaped as fams; each rule fires in a test.
func checkAlerts(t *testing.T, doc, heading, tests string, fams families) {
	bin := promserver.MustPromtool(t)
	rules, prose := docAlerts(t, doc, heading)
	var rf rulesFile
	if err := yaml.Unmarshal([]byte(rules), &rf); err != nil { // promtool check rules is the strict check
		t.Fatalf("%s's Alerts: %v", doc, err)
	}
	var alerts []string
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			alerts = append(alerts, r.Alert)
			checkExpr(t, doc+" rule "+r.Alert, r.Expr, fams)
		}
	}
	if len(alerts) == 0 {
		t.Fatalf("%s's Alerts hold no rule", doc)
	}
	// Inline expressions, wrapped over lines as prose is.
	inline := 0
	for _, m := range regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch(strings.Join(strings.Fields(prose), " "), -1) {
		if span := m[1]; comparison.MatchString(span) && (strings.Contains(span, "podscrape_") || strings.Contains(span, "...")) {
			inline++
			checkExpr(t, doc+" inline", span, fams)
		}
	}
	if inline == 0 {
		t.Errorf("%s: no inline alert expression found (the scan is broken)", doc)
	}

	data, err := os.ReadFile(tests)
	if err != nil {
		t.Fatal(err)
	}
	var rt rulesTests
	if err := yaml.Unmarshal(data, &rt); err != nil {
		t.Fatalf("%s: %v", tests, err)
	}
	fired := map[string]bool{}
	for _, tc := range rt.Tests {
		for _, s := range tc.InputSeries {
			ms, err := parser.NewParser(parser.Options{}).ParseMetricSelector(s.Series)
			if err != nil {
				t.Errorf("%s: series %q: %v", tests, s.Series, err)
				continue
			}
			var name string
			var ls []string
			for _, m := range ms {
				if m.Name == labels.MetricName {
					name = m.Value
				} else {
					ls = append(ls, m.Name)
				}
			}
			slices.Sort(ls)
			if want, ok := fams[name]; !ok {
				t.Errorf("%s: series %q: %s is not registered", tests, s.Series, name)
			} else if !slices.Equal(ls, want) {
				t.Errorf("%s: series %q has labels %v, the exposition's %s has %v", tests, s.Series, ls, name, want)
			}
		}
		for _, a := range tc.AlertRuleTest {
			if len(a.ExpAlerts) > 0 {
				fired[a.Alertname] = true
			}
		}
	}
	for _, a := range alerts {
		if !fired[a] {
			t.Errorf("%s: no test has %s fire", tests, a)
		}
	}

	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "rules.yaml"), []byte(rules), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, filepath.Base(tests)), data, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"check", "rules", "rules.yaml"}, {"test", "rules", filepath.Base(tests)}} {
		cmd := exec.CommandContext(t.Context(), bin, args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool %s (the rules of %s): %v\n%s", strings.Join(args, " "), doc, err, out)
		}
	}
}

// TestServeAlerts holds docs/serve.md's Alerts to what a real serve exports on /metrics.
func TestServeAlerts(t *testing.T) {
	svc := newService(t, podscrapetest.ServiceOptions{Name: "vllm", Pods: 1, Body: "load 1\n"})
	base := startServe(t, serve.Config{Services: []serve.ServiceConfig{{Source: sourceConfig(svc)}}, Interval: time.Hour, MaxAge: time.Nanosecond})
	if code := ask(t, base, "/api/v1/query", url.Values{"query": {"load"}}); code != http.StatusOK {
		t.Fatalf("query load: %d, want 200", code)
	}
	text, _ := ownMetrics(t, base)
	checkAlerts(t, "../../docs/serve.md", "## Alerts", "../../testdata/alerts/serve.test.yaml", familiesOf(t, text))
}

// TestLibraryAlerts holds docs/library.md's Alerts to what a source exports on its
// Registerer.
func TestLibraryAlerts(t *testing.T) {
	svc := newService(t, podscrapetest.ServiceOptions{Name: "vllm", Pods: 1, Body: "load 1\n"})
	reg := prometheus.NewRegistry()
	cfg := sourceConfig(svc)
	cfg.Registerer = reg
	src, err := pod.NewPodScrapingSource(context.Background(), env.Client, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if _, err := src.Refresh(t.Context(), source.RefreshSpec{}); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var text bytes.Buffer
	for _, mf := range mfs {
		if _, err := expfmt.MetricFamilyToText(&text, mf); err != nil {
			t.Fatal(err)
		}
	}
	checkAlerts(t, "../../docs/library.md", "### Alerts", "../../testdata/alerts/library.test.yaml", familiesOf(t, text.Bytes()))
}

// TestPrometheusFiresTheDocsAlerts: the real Prometheus server, scraping a real serve's
// /metrics every second and evaluating docs/serve.md's rules as loaded from the page,
// fires PodscrapeServiceUnavailable and PodscrapeQueriesFailing for the Service whose
// only pod starts failing, labelled with it: the counters' series, exported at 0 before
// the outage, give increase() the baseline it needs (a series born at 1 reads as no
// increase, and the first outage, or the first 503 of a query, would fire nothing).
func TestPrometheusFiresTheDocsAlerts(t *testing.T) {
	svc := newService(t, podscrapetest.ServiceOptions{Name: "vllm", Pods: 1, Body: "load 1\n"})
	base := startServe(t, serve.Config{Services: []serve.ServiceConfig{{Source: sourceConfig(svc)}}, Interval: time.Hour, MaxAge: time.Nanosecond})
	if code := ask(t, base, "/api/v1/query", url.Values{"query": {"load"}}); code != http.StatusOK {
		t.Fatalf("query load: %d, want 200", code)
	}
	rules, _ := docAlerts(t, "../../docs/serve.md", "## Alerts")
	path := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(path, []byte(rules), 0o644); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	prom := startPrometheus(t, fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files: [%q]
scrape_configs:
- job_name: podscrape-serve
  static_configs:
  - targets: [%q]
`, path, u.Host))
	key := svc.Namespace + "/" + svc.Name
	// Prometheus has scraped serve before the outage.
	poll(t, "Prometheus scraping serve", func() (bool, string) {
		v, _, _, err := prom.API.Query(t.Context(), `podscrape_serve_scrapes_unavailable_total{service="`+key+`"} == 0`, time.Now())
		return err == nil && len(v.(model.Vector)) == 1, fmt.Sprint(v, err)
	})
	svc.Pods()[0].SetHandler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "boom", http.StatusInternalServerError) }))
	if code := ask(t, base, "/api/v1/query", url.Values{"query": {"load"}}); code != http.StatusServiceUnavailable {
		t.Fatalf("query load, the only pod failing: %d, want 503", code)
	}
	poll(t, "PodscrapeServiceUnavailable and PodscrapeQueriesFailing firing", func() (bool, string) {
		alerts, err := prom.API.Alerts(t.Context())
		if err != nil {
			return false, err.Error()
		}
		var unavailable, failing bool
		for _, a := range alerts.Alerts {
			if a.State != promv1.AlertStateFiring {
				continue
			}
			switch a.Labels["alertname"] {
			case "PodscrapeServiceUnavailable":
				unavailable = a.Labels["service"] == model.LabelValue(key)
			case "PodscrapeQueriesFailing":
				failing = a.Labels["error_type"] == "unavailable" && a.Labels["endpoint"] == "query"
			}
		}
		return unavailable && failing, fmt.Sprintf("%+v", alerts.Alerts)
	})
}

// poll calls check until it reports true, for at most a minute, and fails the test with
// what it last said then.
func poll(t *testing.T, what string, check func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		ok, said := check()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after a minute; last: %s", what, said)
		}
		time.Sleep(100 * time.Millisecond) // polling Prometheus
	}
}
