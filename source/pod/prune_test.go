package pod

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/podscrape/podscrape/internal/localcluster"
	"github.com/podscrape/podscrape/source"
)

// A refresh asking only for metric-name queries materialises only those metrics and the
// pod's up: the parser skips every other line, so the pod's scrape holds nothing else,
// while scrape_samples_scraped still counts every line.
func TestScrapeKeepsOnlyTheNamedMetrics(t *testing.T) {
	body, err := os.ReadFile(filepath.Join("..", "..", "testdata", "vllm-sim-metrics.txt"))
	if err != nil {
		t.Fatal(err)
	}
	ip := localcluster.NewAddressBlock().Next()
	srv, err := localcluster.Serve(ip, 0, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = w.Write(body)
	}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	s, err := NewPodScrapingSource(context.Background(), cp.Client,
		PodScrapingSourceConfig{ServiceName: "unused", ServiceNamespace: "unused", MetricsPort: int32(srv.Port)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	target := target{name: "p", key: "ns/p", addr: s.podURL(ip)}

	for _, tc := range []struct {
		name     string
		template string
		want     int // values kept: exposed samples, plus up (and the 2 other synthetic ones for all_metrics)
	}{
		{"one gauge", "vllm:num_requests_waiting", 1 + 1},
		{"a histogram family", "vllm:e2e_request_latency_seconds", 24 + 1}, // 22 buckets, _sum, _count
		{"all_metrics", AllMetricsQuery, 253 + 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sel := newSelection([]source.QueryTemplate{{Name: "q", Type: source.QueryTypeMetricName, Template: tc.template}}, nil, storedNames{})
			ps := s.scrape(context.Background(), target, s.newScrapeJob(sel, bearer{}))
			if ps.err != nil {
				t.Fatal(ps.err)
			}
			if len(ps.values) != tc.want {
				t.Fatalf("values kept: got %d, want %d", len(ps.values), tc.want)
			}
			if ps.scraped != 253 {
				t.Fatalf("samples scraped: got %d, want 253 (every line, kept or not)", ps.scraped)
			}
		})
	}
}
