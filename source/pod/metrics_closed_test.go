package pod

import (
	"net/http"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/podscrape/podscrape/source"
)

// A source closed while another source of its Service lives on the Registerer no longer
// exports metrics (Close's contract): a Refresh made on it afterwards (a handler still
// holding the replaced source) counted its scrapes into the Service's shared counters
// and set its pod gauges, as if it were still one of the Service's sources.
func TestClosedSourceCountsNothingInTheSharedMetrics(t *testing.T) {
	cfg := startHandlerPod(t, http.HandlerFunc(okPod))
	key := cfg.ServiceNamespace + "/" + cfg.ServiceName
	reg := prometheus.NewRegistry()
	cfg.Registerer = reg
	build := func() *PodScrapingSource {
		t.Helper()
		s, err := NewPodScrapingSource(t.Context(), cp.Client, cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Close)
		return s
	}
	closed, live := build(), build()
	if _, err := live.Refresh(t.Context(), source.RefreshSpec{}); err != nil {
		t.Fatal(err)
	}
	closed.Close()
	_, before := serviceSeries(t, reg, key, "podscrape_samples_scraped_total")
	if before == 0 {
		t.Fatalf("podscrape_samples_scraped_total of %s after the live source's refresh: 0, want its samples", key)
	}
	if _, err := closed.Refresh(t.Context(), source.RefreshSpec{}); err != nil {
		t.Fatal(err)
	}
	if _, after := serviceSeries(t, reg, key, "podscrape_samples_scraped_total"); after != before {
		t.Fatalf("podscrape_samples_scraped_total of %s after a Refresh of its closed source: %v, want the %v before (a closed source exports nothing)", key, after, before)
	}
}
