package pod

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/podscrape/podscrape/internal/synthetic"
)

// startTypedPod starts a Ready pod behind a Service of a namespace of its own, answering
// body with the given Content-Type and Content-Encoding (none if empty), and returns a
// source config for the Service.
func startTypedPod(t *testing.T, contentType, encoding, body string) PodScrapingSourceConfig {
	t.Helper()
	return startHandlerPod(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", contentType)
		if encoding != "" {
			w.Header().Set("Content-Encoding", encoding)
		}
		_, _ = fmt.Fprint(w, body)
	}))
}

const openMetricsType = "application/openmetrics-text; version=1.0.0; charset=utf-8"

// TestScrapeTimestampOutOfBoundsDropsOneSample: an OpenMetrics sample whose timestamp is
// beyond int64 milliseconds is dropped and counted with the dropped samples, and the pod
// stays up with its other samples, as Prometheus' TSDB refuses that one sample.
func TestScrapeTimestampOutOfBoundsDropsOneSample(t *testing.T) {
	cfg := startTypedPod(t, openMetricsType, "", "a 1 1e300\nb 2\n# EOF\n")
	reg := prometheus.NewRegistry()
	cfg.Registerer = reg
	s, err := NewPodScrapingSource(context.Background(), cp.Client, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	pods, err := s.ScrapeSeries(context.Background())
	if err != nil || len(pods) != 1 || !pods[0].Up {
		t.Fatalf("ScrapeSeries: %+v, %v; want the pod up", pods, err)
	}
	var names []string
	for _, smp := range pods[0].Samples {
		name := smp.Labels.Get(labels.MetricName)
		names = append(names, name)
		if name == "scrape_samples_scraped" && smp.V != 2 {
			t.Errorf("scrape_samples_scraped: got %v, want 2, the dropped line too", smp.V)
		}
	}
	want := []string{"b", "up", "scrape_duration_seconds", "scrape_samples_scraped"}
	if fmt.Sprint(names) != fmt.Sprint(want) {
		t.Errorf("got samples %q, want %q", names, want)
	}
	if got := testutil.ToFloat64(s.metrics.duplicates); got != 1 {
		t.Errorf("dropped samples counted: got %v, want 1", got)
	}
}

// TestScrapeEmptyBodyIsAnEmptyScrape: a 200 with an empty body, whatever its
// Content-Type, is a successful scrape of no samples, as Prometheus' scrape loop takes
// it before it picks a parser; a body that decodes to nothing counts as empty, a gzip
// body of no bytes at all fails (Prometheus' gzip reader fails too), and a non-empty
// body of a type no parser reads still fails.
func TestScrapeEmptyBodyIsAnEmptyScrape(t *testing.T) {
	var emptyGzip bytes.Buffer
	_ = gzip.NewWriter(&emptyGzip).Close()
	for _, tc := range []struct {
		name, contentType, encoding, body string
		up                                bool
	}{
		{"OpenMetrics", openMetricsType, "", "", true},
		{"text", "text/plain; version=0.0.4", "", "", true},
		{"HTML", "text/html; charset=utf-8", "", "", true},
		{"OpenMetrics gzip of nothing", openMetricsType, "gzip", emptyGzip.String(), true},
		{"HTML gzip of nothing", "text/html", "gzip", emptyGzip.String(), true},
		{"gzip of no bytes", openMetricsType, "gzip", "", false},
		{"HTML page", "text/html", "", "<html></html>", false},
		{"OpenMetrics blank line", openMetricsType, "", "\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := startTypedPod(t, tc.contentType, tc.encoding, tc.body)
			s, err := NewPodScrapingSource(context.Background(), cp.Client, cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(s.Close)
			pods, err := s.ScrapeSeries(context.Background())
			if err != nil || len(pods) != 1 {
				t.Fatalf("ScrapeSeries: %+v, %v", pods, err)
			}
			if got := pods[0]; got.Up != tc.up {
				t.Fatalf("got up %t (%v), want %t", got.Up, got.Err, tc.up)
			}
			if n := len(pods[0].Samples); n != len(synthetic.Names) {
				t.Errorf("got %d samples, want only the %d synthetic ones", n, len(synthetic.Names))
			}
		})
	}
}
