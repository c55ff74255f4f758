package pod

import (
	"context"
	"errors"
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
// changes a family's entry puts the new one first, the other families kept.
func TestRecordMetadataStoresOnlyChanges(t *testing.T) {
	var s PodScrapingSource
	scrape := func(help string) []podScrape {
		return []podScrape{{metadata: []familyMetadata{
			{family: "a", MetricMetadata: MetricMetadata{Type: "gauge", Help: help}},
			{family: "b", MetricMetadata: MetricMetadata{Type: "counter"}},
		}}}
	}
	s.recordMetadata(seriesSelection, scrape("first"))
	stored := s.metadata.latest.Load()
	s.recordMetadata(seriesSelection, scrape("first"))
	if s.metadata.latest.Load() != stored {
		t.Error("the same metadata again was stored anew")
	}
	s.recordMetadata(seriesSelection, scrape("second"))
	got := s.Metadata()
	if got["a"].Help != "second" || got["b"].Type != "counter" || s.metadata.latest.Load() == stored {
		t.Errorf("after a changed help: %v; want a's help second, b kept", got)
	}
}

// familyOf is a pod's scrape that exposed family with help, or, with help "", failed.
func familyOf(family, help string) podScrape {
	if help == "" {
		return podScrape{err: errors.New("down")}
	}
	return podScrape{metadata: []familyMetadata{{family: family, MetricMetadata: MetricMetadata{Type: "counter", Help: help}}}}
}

// Pods that disagree on a family (a rolling upgrade changing its HELP) each keep their
// entry, as Prometheus' /api/v1/metadata lists each target's: the first pod's by name
// first (Metadata's), each distinct entry once, at most maxMetadataPerFamily; a family
// handed on twice by one pod is that pod's later entry alone.
func TestMetadataEntriesKeepEachDistinctEntry(t *testing.T) {
	var s PodScrapingSource
	twice := podScrape{metadata: []familyMetadata{
		{family: "reqs", MetricMetadata: MetricMetadata{Help: "Partial."}},
		{family: "reqs", MetricMetadata: MetricMetadata{Type: "counter", Help: "New."}},
	}}
	s.recordMetadata(seriesSelection, []podScrape{familyOf("reqs", "Old."), twice, familyOf("reqs", "Old."), familyOf("reqs", "")})
	want := []MetricMetadata{{Type: "counter", Help: "Old."}, {Type: "counter", Help: "New."}}
	if got := s.MetadataEntries()["reqs"]; !reflect.DeepEqual(got, want) {
		t.Errorf("MetadataEntries of reqs: got %v, want %v", got, want)
	}
	if got := s.Metadata()["reqs"]; got != want[0] {
		t.Errorf("Metadata of reqs: got %v, want the first pod's, %v", got, want[0])
	}
	var many []podScrape
	for i := range maxMetadataPerFamily + 5 {
		many = append(many, familyOf("reqs", fmt.Sprintf("Pod %02d.", i)))
	}
	s.recordMetadata(seriesSelection, many)
	got := s.MetadataEntries()["reqs"]
	if len(got) != maxMetadataPerFamily || got[0].Help != "Pod 00." || got[maxMetadataPerFamily-1].Help != fmt.Sprintf("Pod %02d.", maxMetadataPerFamily-1) {
		t.Errorf("a HELP per pod: got %v, want the first %d pods' entries", got, maxMetadataPerFamily)
	}
	got[0].Help = "changed" // the caller's
	if s.MetadataEntries()["reqs"][0].Help != "Pod 00." {
		t.Error("MetadataEntries returned the store's slice")
	}
}

// An entry no pod exposes any more is kept for metadataRetention refreshes that look for
// its family and dropped at the next, as Prometheus keeps a family's metadata 10 scrapes
// after its target stopped exposing it; a refresh that does not keep the family, or whose
// every pod failed, does not count.
func TestMetadataNoPodExposesIsDroppedAfterTenRefreshes(t *testing.T) {
	var s PodScrapingSource
	both := func(help string) []podScrape {
		return []podScrape{{metadata: []familyMetadata{
			{family: "gone", MetricMetadata: MetricMetadata{Type: "gauge"}},
			{family: "kept", MetricMetadata: MetricMetadata{Type: "counter", Help: help}},
		}}}
	}
	s.recordMetadata(seriesSelection, both("Old."))
	onlyKept := &selection{key: "kept", names: []string{"kept"}, index: map[string]int{"kept": 0}}
	for range 3 { // keep only "kept": "gone" is not looked for
		s.recordMetadata(onlyKept, []podScrape{familyOf("kept", "New.")})
	}
	s.recordMetadata(seriesSelection, []podScrape{familyOf("kept", "")}) // every pod failed
	for i := range metadataRetention {
		s.recordMetadata(seriesSelection, []podScrape{familyOf("kept", "New.")})
		got := s.MetadataEntries()
		if _, ok := got["gone"]; !ok {
			t.Fatalf("after %d refreshes without gone: %v, want its entry still there", i+1, got)
		}
		// kept's old entry was missed by the refreshes of kept alone too.
		missed, want := 3+i+1, 2
		if missed > metadataRetention {
			want = 1
		}
		if len(got["kept"]) != want {
			t.Fatalf("after %d refreshes without kept's old entry: %v, want %d entries", missed, got["kept"], want)
		}
	}
	s.recordMetadata(seriesSelection, []podScrape{familyOf("kept", "New.")})
	want := map[string][]MetricMetadata{"kept": {{Type: "counter", Help: "New."}}}
	if got := s.MetadataEntries(); !reflect.DeepEqual(got, want) {
		t.Errorf("after %d refreshes without them: got %v, want %v", metadataRetention+1, got, want)
	}
}

// A family that comes back counts its refreshes without it anew: it is dropped only
// after metadataRetention refreshes in a row without it.
func TestMetadataSeenAgainIsKeptAnew(t *testing.T) {
	var s PodScrapingSource
	nothing := []podScrape{{}} // a pod scraped successfully, exposing no metadata
	s.recordMetadata(seriesSelection, []podScrape{familyOf("flaky", "Flaky.")})
	for range metadataRetention / 2 {
		s.recordMetadata(seriesSelection, nothing)
	}
	s.recordMetadata(seriesSelection, []podScrape{familyOf("flaky", "Flaky.")})
	for i := range metadataRetention {
		s.recordMetadata(seriesSelection, nothing)
		if _, ok := s.Metadata()["flaky"]; !ok {
			t.Fatalf("dropped %d refreshes after it came back, want %d", i+1, metadataRetention+1)
		}
	}
	s.recordMetadata(seriesSelection, nothing)
	if got, ok := s.Metadata()["flaky"]; ok {
		t.Errorf("%d refreshes after it came back: got %v, want it dropped", metadataRetention+1, got)
	}
}

// A Service scaled to zero has no pod exposing any family: its metadata leaves after
// metadataRetention refreshes, as a family no pod exposes does, instead of staying for
// as long as the Service has no pod (Prometheus drops a gone target's metadata).
func TestMetadataOfAServiceScaledToZeroLeaves(t *testing.T) {
	var s PodScrapingSource
	s.recordMetadata(seriesSelection, []podScrape{familyOf("reqs", "Requests.")})
	for i := range metadataRetention {
		s.recordMetadata(seriesSelection, nil)
		if _, ok := s.Metadata()["reqs"]; !ok {
			t.Fatalf("dropped after %d refreshes without pods, want %d", i+1, metadataRetention+1)
		}
	}
	s.recordMetadata(seriesSelection, nil)
	if got := s.Metadata(); len(got) != 0 {
		t.Errorf("after %d refreshes without pods: got %v, want no family", metadataRetention+1, got)
	}
}
