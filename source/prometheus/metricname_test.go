package prometheus

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/podscrape/podscrape/internal/promserver"
	"github.com/podscrape/podscrape/source"
)

// A metric-name query is the selector of that metric on every server, whatever the name:
// the real Prometheus server scraping a loopback target whose metrics are named as words
// PromQL's lexer reads as keywords or numbers. The plain name sent as the expression was
// read as a number ("nan", "Inf": NaN and +Inf answered as the metric's value, a nil
// Error) or refused as bad PromQL ("bool", "on", "atan2", "group_left"), where the pod
// source answers each metric's samples.
func TestMetricNameQueryOfAPromQLKeyword(t *testing.T) {
	t.Parallel()
	metrics := map[string]float64{"nan": 3, "Inf": 4, "bool": 5, "on": 6, "atan2": 7, "group_left": 8, "sum": 9, "ordinary": 10}
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		for name, v := range metrics {
			fmt.Fprintf(w, "%s %g\n", name, v)
		}
	}))
	t.Cleanup(target.Close)
	u, err := url.Parse(target.URL)
	if err != nil {
		t.Fatal(err)
	}
	prom, err := promserver.Start(t.Context(), promserver.Options{Progress: os.Stderr, Config: fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
- job_name: keywords
  static_configs:
  - targets: [%q]
`, u.Host)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = prom.Stop() })
	api, err := NewAPI(ClientConfig{URL: prom.URL})
	if err != nil {
		t.Fatal(err)
	}
	s := NewPrometheusSource(t.Context(), api, fastConfig())
	for name := range metrics {
		s.QueryList().MustRegister(source.QueryTemplate{Name: name, Type: source.QueryTypeMetricName, Template: name})
	}
	// The server has scraped the target once.
	eventually(t, "the target scraped", func() bool {
		r, err := s.Refresh(t.Context(), source.RefreshSpec{Queries: []string{"ordinary"}})
		return err == nil && len(r["ordinary"].Values) == 1
	})
	results, err := s.Refresh(t.Context(), source.RefreshSpec{})
	if err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	for name, want := range metrics {
		r := results[name]
		if r.Error != nil || len(r.Values) != 1 {
			t.Errorf("metric %q: values %v, Error %v; want its one sample, %g", name, r.Values, r.Error, want)
			continue
		}
		if v := r.Values[0]; v.Value != want || v.Labels[source.LabelName] != name {
			t.Errorf("metric %q: value %g, labels %v; want %g with __name__ %q", name, v.Value, v.Labels, want, name)
		}
	}
}

// Every word PromQL's lexer knows, in lower and upper case, as a metric name: the
// expression a metric-name query sends parses, with Prometheus' own parser, as the
// selector of that metric alone.
func TestSelectorOfEveryPromQLKeyword(t *testing.T) {
	for _, w := range append(parser.Keywords(), "NaN", "Inf", "vllm:num_requests_waiting", "my.metric") {
		for _, name := range []string{w, strings.ToUpper(w)} {
			expr := selector(name)
			e, err := parser.NewParser(parser.Options{}).ParseExpr(expr)
			if err != nil {
				t.Errorf("metric %q: %s does not parse: %v", name, expr, err)
				continue
			}
			vs, ok := e.(*parser.VectorSelector)
			if !ok {
				t.Errorf("metric %q: %s parses as %T %s, not a selector", name, expr, e, e)
				continue
			}
			var names []string
			for _, m := range vs.LabelMatchers {
				if m.Name != labels.MetricName || m.Type != labels.MatchEqual || m.Value != name {
					t.Errorf("metric %q: %s selects %s", name, expr, m)
				}
				names = append(names, m.Value)
			}
			if len(names) != 1 {
				t.Errorf("metric %q: %s has matchers %v, want one of __name__", name, expr, vs.LabelMatchers)
			}
		}
	}
}
