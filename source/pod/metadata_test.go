package pod

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"sync/atomic"
	"testing"

	"github.com/podscrape/podscrape/internal/localcluster"
	"github.com/podscrape/podscrape/source"
)

var metadataRuns atomic.Int64

// TestMetadataReportsEachFamily scrapes a pod speaking the text format and one speaking
// OpenMetrics with a refresh that keeps one metric only: Metadata holds every family of
// both, named as each format names it, the first pod winning where they disagree; a
// refresh whose every pod fails leaves it as it was.
func TestMetadataReportsEachFamily(t *testing.T) {
	ctx := context.Background()
	ns := fmt.Sprintf("metadata-%d", metadataRuns.Add(1))
	if err := cp.CreateNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	var failing atomic.Bool
	bodies := map[string][2]string{
		"a-text": {"text/plain; version=0.0.4", "# HELP requests_total Requests, \\\\ text.\n# TYPE requests_total counter\nrequests_total 1\n" +
			"# HELP shared From a.\n# TYPE shared gauge\nshared 1\nno_metadata 1\n"},
		"b-openmetrics": {"application/openmetrics-text; version=1.0.0", "# TYPE requests counter\n# HELP requests Requests, \\\" OpenMetrics.\nrequests_total 1\n" +
			"# TYPE latency_seconds histogram\n# UNIT latency_seconds seconds\n# HELP latency_seconds Latency.\n" +
			"latency_seconds_bucket{le=\"+Inf\"} 1\nlatency_seconds_sum 1\nlatency_seconds_count 1\n" +
			"# HELP shared From b.\n# TYPE shared gauge\nshared 2\n# EOF\n"},
	}
	block := localcluster.NewAddressBlock()
	ips := map[string]string{"a-text": block.Next(), "b-openmetrics": block.Next()}
	byIP := map[string]string{}
	for name, ip := range ips {
		byIP[ip] = name
	}
	servers, err := localcluster.ServeAll([]string{ips["a-text"], ips["b-openmetrics"]}, func(ip string) http.Handler {
		body := bodies[byIP[ip]]
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			if failing.Load() {
				http.Error(w, "down", http.StatusInternalServerError)
				return
			}
			w.Header().Set("Content-Type", body[0])
			_, _ = w.Write([]byte(body[1]))
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range servers {
		t.Cleanup(func() { _ = s.Close() })
	}
	sel := map[string]string{"app": "metadata"}
	if err := cp.CreateService(ctx, ns, "svc", sel, int32(servers[0].Port)); err != nil {
		t.Fatal(err)
	}
	for name, ip := range ips {
		if _, err := cp.CreatePod(ctx, localcluster.PodSpec{Namespace: ns, Name: name, Labels: sel, IP: ip, Ready: true}); err != nil {
			t.Fatal(err)
		}
	}
	s, err := NewPodScrapingSource(ctx, cp.Client, PodScrapingSourceConfig{ServiceName: "svc", ServiceNamespace: ns, MetricsPort: int32(servers[0].Port)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	if m := s.Metadata(); m != nil {
		t.Fatalf("before any refresh: got %v, want nil", m)
	}
	s.QueryList().MustRegister(source.QueryTemplate{Name: "shared", Type: source.QueryTypeMetricName, Template: "shared"})
	if _, err := s.Refresh(ctx, source.RefreshSpec{Queries: []string{"shared"}}); err != nil {
		t.Fatal(err)
	}
	// A one-metric refresh records that family alone.
	if got, want := s.Metadata(), map[string]MetricMetadata{"shared": {Type: "gauge", Help: "From a."}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("Metadata after a refresh of shared: got %v, want %v", got, want)
	}
	if _, err := s.Refresh(ctx, source.RefreshSpec{Queries: []string{AllMetricsQuery}}); err != nil {
		t.Fatal(err)
	}
	want := map[string]MetricMetadata{
		"requests_total":  {Type: "counter", Help: `Requests, \ text.`},
		"requests":        {Type: "counter", Help: `Requests, " OpenMetrics.`},
		"latency_seconds": {Type: "histogram", Help: "Latency.", Unit: "seconds"},
		"shared":          {Type: "gauge", Help: "From a."},
	}
	got := s.Metadata()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Metadata: got %v, want %v", got, want)
	}
	got["shared"] = MetricMetadata{} // the caller's map
	failing.Store(true)
	if _, err := s.Refresh(ctx, source.RefreshSpec{}); err == nil {
		t.Fatal("every pod failing: got no error")
	}
	if got := s.Metadata(); !reflect.DeepEqual(got, want) {
		t.Fatalf("after a refresh whose every pod failed: got %v, want %v as before", got, want)
	}
}

// A refresh that says what the stored metadata already says stores nothing new; one that
// changes a family's entry replaces it, the other families kept.
func TestRecordMetadataStoresOnlyChanges(t *testing.T) {
	var s PodScrapingSource
	scrape := func(help string) []podScrape {
		return []podScrape{{metadata: []familyMetadata{
			{family: "a", MetricMetadata: MetricMetadata{Type: "gauge", Help: help}},
			{family: "b", MetricMetadata: MetricMetadata{Type: "counter"}},
		}}}
	}
	s.recordMetadata(scrape("first"))
	stored := s.metadata.latest.Load()
	s.recordMetadata(scrape("first"))
	if s.metadata.latest.Load() != stored {
		t.Error("the same metadata again was stored anew")
	}
	s.recordMetadata(scrape("second"))
	got := s.Metadata()
	if got["a"].Help != "second" || got["b"].Type != "counter" || s.metadata.latest.Load() == stored {
		t.Errorf("after a changed help: %v; want a's help second, b kept", got)
	}
}
