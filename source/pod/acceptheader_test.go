package pod

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/prometheus/model/labels"
)

// TestScrapeSeriesGetsUTF8NamesAsPrometheus: a client_golang pod exposing a metric and a
// label named in UTF-8 serves them to the source as it serves them to Prometheus
// (exposition.AcceptHeader asks for escaping=allow-utf-8), so a query written for
// Prometheus finds them; the old header got vllm_num_requests_waiting{model_name}.
func TestScrapeSeriesGetsUTF8NamesAsPrometheus(t *testing.T) {
	reg := prometheus.NewRegistry()
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "vllm.num_requests.waiting", Help: "Waiting."}, []string{"model.name"})
	g.WithLabelValues("m").Set(7)
	reg.MustRegister(g)
	cfg := startHandlerPod(t, promhttp.HandlerFor(reg, promhttp.HandlerOpts{EnableOpenMetrics: true}))
	s, err := NewPodScrapingSource(context.Background(), cp.Client, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	pods, err := s.ScrapeSeries(context.Background())
	if err != nil || len(pods) != 1 || !pods[0].Up {
		t.Fatalf("ScrapeSeries: %+v, %v; want the pod up", pods, err)
	}
	smp := pods[0].Samples[0]
	if got := smp.Labels.Get(labels.MetricName); got != "vllm.num_requests.waiting" || smp.Labels.Get("model.name") != "m" || smp.V != 7 {
		t.Errorf("got %s %v, want vllm.num_requests.waiting{model.name=\"m\"} 7", smp.Labels, smp.V)
	}
}
