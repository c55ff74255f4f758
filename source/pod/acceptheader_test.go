package pod

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/model"
	"github.com/prometheus/common/promslog"
	"github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/model/labels"
)

// TestScrapeSendsPrometheusAcceptHeader: the Accept header a pod receives is a Prometheus
// v0.316 server's with a scrape config's defaults: its scrape_protocols and
// metric_name_escaping_scheme as config.Load sets them, joined as scrape/scrape.go's
// acceptHeader joins them (unexported; its weighting is mirrored here).
func TestScrapeSendsPrometheusAcceptHeader(t *testing.T) {
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
	want := strings.Join(append(vals, fmt.Sprintf("*/*;q=0.%d", weight)), ",")

	var mu sync.Mutex // protects got
	var got []string
	podCfg := startHandlerPod(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = r.Header.Values("Accept")
		mu.Unlock()
		_, _ = w.Write([]byte("a 1\n"))
	}))
	s, err := NewPodScrapingSource(context.Background(), cp.Client, podCfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	if pods, err := s.ScrapeSeries(context.Background()); err != nil || len(pods) != 1 || !pods[0].Up {
		t.Fatalf("ScrapeSeries: %+v, %v", pods, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || got[0] != want {
		t.Errorf("the pod got Accept %q, want %q (Prometheus')", got, want)
	}
}

// TestScrapeSeriesGetsUTF8NamesAsPrometheus: a client_golang pod (OpenMetrics enabled)
// exposing a metric and a label named in UTF-8 serves them to the source as it serves
// them to Prometheus, escaping=allow-utf-8 asked (exposition.AcceptHeader), so a query
// written for Prometheus finds them; the source's old header got
// vllm_num_requests_waiting{model_name}. (Without OpenMetrics, client_golang serves both
// escaped names: it offers no text format 1.0.0.)
func TestScrapeSeriesGetsUTF8NamesAsPrometheus(t *testing.T) {
	reg := prometheus.NewRegistry()
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "vllm.num_requests.waiting", Help: "Waiting."}, []string{"model.name"})
	g.WithLabelValues("m").Set(7)
	reg.MustRegister(g)
	cfg := startHandlerPod(t, promhttp.HandlerFor(reg, promhttp.HandlerOpts{EnableOpenMetrics: true}))
	smp := scrapeOnePod(t, cfg).Samples[0]
	if got := smp.Labels.Get(labels.MetricName); got != "vllm.num_requests.waiting" || smp.Labels.Get("model.name") != "m" || smp.V != 7 {
		t.Errorf("got %s %v, want vllm.num_requests.waiting{model.name=\"m\"} 7", smp.Labels, smp.V)
	}
}
