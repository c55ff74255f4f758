package exposition

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/model"
	"github.com/prometheus/common/promslog"
	"github.com/prometheus/prometheus/config"
)

// TestAcceptHeaderIsPrometheus: AcceptHeader is the header a Prometheus v0.316 server
// sends with a scrape config's defaults: its scrape_protocols and
// metric_name_escaping_scheme as config.Load sets them, joined as scrape/scrape.go's
// acceptHeader joins them (unexported; its weighting is mirrored here).
func TestAcceptHeaderIsPrometheus(t *testing.T) {
	cfg, err := config.Load("scrape_configs:\n- job_name: pod\n", promslog.NewNopLogger())
	if err != nil {
		t.Fatal(err)
	}
	sc := cfg.ScrapeConfigs[0]
	scheme, err := config.ToEscapingScheme(sc.MetricNameEscapingScheme, sc.MetricNameValidationScheme)
	if err != nil {
		t.Fatal(err)
	}
	var vals []string
	weight := len(config.ScrapeProtocolsHeaders) + 1
	for _, sp := range sc.ScrapeProtocols {
		val := config.ScrapeProtocolsHeaders[sp]
		if sp == config.PrometheusText1_0_0 || sp == config.OpenMetricsText1_0_0 || sp == config.OpenMetricsText2_0_0 {
			val += ";" + model.EscapingKey + "=" + scheme.String()
		}
		vals = append(vals, fmt.Sprintf("%s;q=0.%d", val, weight))
		weight--
	}
	vals = append(vals, fmt.Sprintf("*/*;q=0.%d", weight))
	if want := strings.Join(vals, ","); AcceptHeader != want {
		t.Errorf("got %q, want %q (Prometheus)", AcceptHeader, want)
	}
}

// TestAcceptHeaderGetsUTF8Names: a client_golang target with OpenMetrics enabled, asked
// with AcceptHeader, serves a metric and a label named in UTF-8 as they are, as it serves
// them to Prometheus, and the Parser reads the Content-Type it answers. (Without
// OpenMetrics it serves Prometheus and podscrape alike escaped names: it offers no text
// format 1.0.0.)
func TestAcceptHeaderGetsUTF8Names(t *testing.T) {
	reg := prometheus.NewRegistry()
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "vllm.num_requests.waiting", Help: "Waiting."}, []string{"model.name"})
	g.WithLabelValues("m").Set(7)
	reg.MustRegister(g)
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{EnableOpenMetrics: true}))
	defer srv.Close()
	req, err := http.NewRequest(http.MethodGet, srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", AcceptHeader)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	ct := resp.Header.Get("Content-Type")
	f, err := ParseContentType(ct)
	if err != nil {
		t.Fatal(err)
	}
	samples, err := collect(t, NewParser(Options{}), body, f)
	if err != nil {
		t.Fatalf("Content-Type %q: %v\n%s", ct, err, body)
	}
	want := []string{`"vllm.num_requests.waiting"{"model.name"="m"} 7`}
	if got := canonicalAll(samples); f != FormatOpenMetrics || !slices.Equal(got, want) {
		t.Errorf("Content-Type %q (%s): got %q, want %q\n%s", ct, f, got, want, body)
	}
}
