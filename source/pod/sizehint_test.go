package pod

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/podscrape/podscrape/internal/localcluster"
)

// One pod of a large Service exposing many samples (a debug exporter, a cardinality
// bug) must cost its own samples, not its size times every pod's: the size hint that
// spares each pod's slice its growth was the largest pod's count, given to every pod of
// the next scrape, those that failed included. 2,000 pods and one of 200,000 samples
// made 2,000 slices of 200,000 values (16 GB) per refresh; ScrapeSeries kept the slice of
// each pod new since the last scrape (a rollout) for as long as the pod lived.
func TestOnePodsSizeIsNotEveryPodsAllocation(t *testing.T) {
	const small, fat = 20, 5000
	ctx := context.Background()
	ns := fmt.Sprintf("sizehint-%d", runs.Add(1))
	if err := cp.CreateNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	block := localcluster.NewAddressBlock()
	ips := make([]string, 1+2*small)
	for i := range ips {
		ips[i] = block.Next()
	}
	var fatBody strings.Builder
	for i := range fat {
		fmt.Fprintf(&fatBody, "debug_series{i=\"%d\"} 1\n", i)
	}
	port, sel := servePods(t, ctx, ns, "big", ips, func(ip string) http.Handler {
		body := "queue 1\n"
		if ip == ips[0] {
			body = fatBody.String()
		}
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain; version=0.0.4")
			_, _ = w.Write([]byte(body))
		})
	})
	addPods := func(prefix string, from, n int) {
		for i := range n {
			if _, err := cp.CreatePod(ctx, localcluster.PodSpec{Namespace: ns, Name: fmt.Sprintf("%s-%02d", prefix, i), Labels: sel, IP: ips[from+i], Ready: true}); err != nil {
				t.Fatal(err)
			}
		}
	}
	addPods("a-fat", 0, 1)
	addPods("b-small", 1, small)
	s, err := NewPodScrapingSource(ctx, cp.Client, PodScrapingSourceConfig{ServiceName: "big", ServiceNamespace: ns, MetricsPort: port})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)

	// Refresh's values: the second refresh is sized by the first.
	queries, err := s.queries.Resolve(nil)
	if err != nil {
		t.Fatal(err)
	}
	want := newSelection(queries, s.registered(), storedNames{})
	for i := range 2 {
		out, err := refresher{s}.Run(ctx, want)
		if err != nil {
			t.Fatal(err)
		}
		held, kept := 0, 0
		for _, p := range out.pods {
			if p.err != nil {
				t.Fatalf("refresh %d: pod %s: %v", i, p.target.name, p.err)
			}
			held += cap(p.values)
			kept += len(p.values)
		}
		if bound := 2*kept + 64*len(out.pods); held > bound {
			t.Errorf("refresh %d: the pods' values held room for %d values to keep %d (%d pods), want at most %d", i, held, kept, len(out.pods), bound)
		}
	}

	// ScrapeSeries: pods new since the last scrape (a rollout) are sized by it.
	if _, err := s.ScrapeSeries(ctx, labels.Label{Name: "job", Value: "big"}); err != nil {
		t.Fatal(err)
	}
	addPods("c-new", 1+small, small)
	pods, err := s.ScrapeSeries(ctx, labels.Label{Name: "job", Value: "big"})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pods {
		if !p.Up {
			t.Fatalf("pod %s: %v", p.Pod, p.Err)
		}
		if strings.HasPrefix(p.Pod, "c-new") && cap(p.Samples) > 2*len(p.Samples)+64 {
			t.Errorf("new pod %s: its %d samples hold room for %d (kept by its series cache for the next scrapes), want at most %d", p.Pod, len(p.Samples), cap(p.Samples), 2*len(p.Samples)+64)
		}
	}
}

// A pod's series cache gives back what a spike of its exposition made it hold: a pod
// that exposed 100,000 series once (under SampleLimit) and then 10 kept the slice of
// 100,000 samples and the map of 100,000 entries (Go maps never shrink) for as long as
// it lived.
func TestSeriesCacheShrinksAfterASpike(t *testing.T) {
	var scrapes atomic.Int64
	var spike strings.Builder
	for i := range 100_000 {
		fmt.Fprintf(&spike, "m{i=\"%d\"} 1\n", i)
	}
	cfg := startHandlerPod(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		if scrapes.Add(1) == 1 {
			_, _ = w.Write([]byte(spike.String()))
			return
		}
		for i := range 10 {
			fmt.Fprintf(w, "m{i=\"%d\"} 1\n", i)
		}
	}))
	s, err := NewPodScrapingSource(context.Background(), cp.Client, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	var spiked uintptr
	for i := range 3 {
		pods, err := s.ScrapeSeries(context.Background())
		if err != nil || len(pods) != 1 || !pods[0].Up {
			t.Fatalf("scrape %d: %v, %v", i, pods, err)
		}
		var sc *seriesCache
		for _, c := range s.seriesCaches.byPod { // the one pod's
			sc = c
		}
		if i == 0 {
			spiked = reflect.ValueOf(sc.entries).Pointer()
			continue
		}
		if i == 1 {
			continue // the spike's slice, reused by this scrape, is given back after it
		}
		if n := len(pods[0].Samples); cap(pods[0].Samples) > 4*n+minCacheRoom {
			t.Errorf("scrape %d: %d samples in room for %d, want at most %d", i, n, cap(pods[0].Samples), 4*n+minCacheRoom)
		}
		if reflect.ValueOf(sc.entries).Pointer() == spiked {
			t.Errorf("scrape %d: the series cache keeps the map that held the spike's 100,000 entries for its %d", i, len(sc.entries))
		}
	}
}

// The same for the metadata a pod's series cache hands from one scrape to the next: a
// pod whose exposition once named 100,000 families (an id in its metric names) must not
// keep room for 100,000 entries of metadata (64 bytes each) for as long as it lives.
func TestSeriesCacheMetadataShrinksAfterASpike(t *testing.T) {
	var scrapes atomic.Int64
	var spike strings.Builder
	for i := range 100_000 {
		fmt.Fprintf(&spike, "# TYPE requests_for_id_%d counter\nrequests_for_id_%d 1\n", i, i)
	}
	cfg := startHandlerPod(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		if scrapes.Add(1) == 1 {
			_, _ = w.Write([]byte(spike.String()))
			return
		}
		_, _ = w.Write([]byte("# TYPE queue gauge\nqueue 1\n"))
	}))
	s, err := NewPodScrapingSource(context.Background(), cp.Client, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	for i := range 3 {
		pods, err := s.ScrapeSeries(context.Background())
		if err != nil || len(pods) != 1 || !pods[0].Up {
			t.Fatalf("scrape %d: %v, %v", i, pods, err)
		}
		var sc *seriesCache
		for _, c := range s.seriesCaches.byPod { // the one pod's
			sc = c
		}
		if i == 0 {
			if len(sc.metadata) != 100_000 {
				t.Fatalf("the spike's scrape kept %d families' metadata, want 100000", len(sc.metadata))
			}
			continue
		}
		if n := len(sc.metadata); cap(sc.metadata) > 4*n+minCacheRoom {
			t.Errorf("scrape %d: the series cache keeps %d families' metadata in room for %d, want at most %d", i, n, cap(sc.metadata), 4*n+minCacheRoom)
		}
	}
}
