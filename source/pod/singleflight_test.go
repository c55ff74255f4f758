package pod

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/podscrape/podscrape/internal/localcluster"
	"github.com/podscrape/podscrape/source"
)

// runs numbers the runs of the tests, for a namespace of each run's own.
var runs atomic.Int32

// heldPod is one pod behind a Service whose scrapes wait for release; it counts them and
// the most in flight at once, and answers the nth request with "m{gen="n"} n" and
// "other n".
type heldPod struct {
	arrived chan struct{} // one send per request
	release chan struct{}

	mu       sync.Mutex // protects requests, now, peak
	requests int
	now      int
	peak     int
}

// The caller closes the source.
func startHeldPod(t *testing.T) (*heldPod, *PodScrapingSource) {
	t.Helper()
	ctx := context.Background()
	ns := fmt.Sprintf("singleflight-%d", runs.Add(1)) // unique under -count
	if err := cp.CreateNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	h := &heldPod{arrived: make(chan struct{}, 100), release: make(chan struct{})}
	ip := localcluster.NewAddressBlock().Next()
	srv, err := localcluster.Serve(ip, 0, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		h.mu.Lock()
		h.requests++
		n := h.requests
		h.now++
		h.peak = max(h.peak, h.now)
		h.mu.Unlock()
		h.arrived <- struct{}{}
		<-h.release
		h.mu.Lock()
		h.now--
		h.mu.Unlock()
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = fmt.Fprintf(w, "m %d\nother %d\n", n, n)
	}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	sel := map[string]string{"app": "sf"}
	if err := cp.CreateService(ctx, ns, "sf", sel, int32(srv.Port)); err != nil {
		t.Fatal(err)
	}
	if _, err := cp.CreatePod(ctx, localcluster.PodSpec{Namespace: ns, Name: "p", Labels: sel, IP: ip, Ready: true}); err != nil {
		t.Fatal(err)
	}
	s, err := NewPodScrapingSource(ctx, cp.Client, PodScrapingSourceConfig{ServiceName: "sf", ServiceNamespace: ns, MetricsPort: int32(srv.Port)})
	if err != nil {
		t.Fatal(err)
	}
	s.QueryList().MustRegister(source.QueryTemplate{Name: "m", Type: source.QueryTypeMetricName, Template: "m"})
	s.QueryList().MustRegister(source.QueryTemplate{Name: "other", Type: source.QueryTypeMetricName, Template: "other"})
	return h, s
}

func (h *heldPod) counts() (requests, peak int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.requests, h.peak
}

// waitWaiters polls until the source's refreshes have running and next callers.
func waitWaiters(t *testing.T, s *PodScrapingSource, running, next int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r, n := s.flights.Waiters()
		if r == running && n == next {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("callers of the refresh in progress and the next: got %d and %d, want %d and %d", r, n, running, next)
		}
		time.Sleep(time.Millisecond) // polling a condition with a deadline
	}
}

// Refresh({}) and refreshes of any queries it covers, issued together, share its one
// scrape of the pod, whatever their query sets.
func TestRefreshConcurrentCallsOfDifferentQueriesShareOneScrape(t *testing.T) {
	h, s := startHeldPod(t)
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	defer s.Close() // its idle connections first
	ctx := context.Background()
	specs := [][]string{
		nil, // every registered query
		{AllMetricsQuery},
		{"m"},
		{AllMetricsQuery, "other"},
		{"m", "other"},
	}
	results := make([]map[string]*source.MetricResult, len(specs))
	var wg sync.WaitGroup
	wg.Go(func() { results[0], _ = s.Refresh(ctx, source.RefreshSpec{Queries: specs[0]}) })
	<-h.arrived
	for i := 1; i < len(specs); i++ {
		wg.Go(func() { results[i], _ = s.Refresh(ctx, source.RefreshSpec{Queries: specs[i]}) })
	}
	waitWaiters(t, s, len(specs), 0)
	close(h.release)
	wg.Wait()

	if n, _ := h.counts(); n != 1 {
		t.Fatalf("requests for %d concurrent refreshes: got %d, want 1", len(specs), n)
	}
	all := results[0][AllMetricsQuery]
	for i, r := range results {
		want := specs[i]
		if want == nil {
			want = []string{AllMetricsQuery, "m", "other"}
		}
		var got []string
		for name, res := range r {
			got = append(got, name)
			if !res.CollectedAt.Equal(all.CollectedAt) {
				t.Errorf("caller %d, %s: collected at %v, want the shared scrape's %v", i, name, res.CollectedAt, all.CollectedAt)
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Fatalf("caller %d: got results %v, want %v", i, got, want)
		}
		if r["m"] != nil && (len(r["m"].Values) != 2 || r["m"].Values[0].Labels["__name__"] != "m" || r["m"].Values[1].Labels["__name__"] != "up") {
			t.Errorf("caller %d, m: got %v, want m then the pod's up", i, r["m"].Values)
		}
	}
	if r := results[1][AllMetricsQuery]; r != all {
		t.Fatalf("all_metrics of two callers: got two results, want the shared one")
	}
	for _, name := range []string{AllMetricsQuery, "m", "other"} {
		if c := s.Get(name, nil); c == nil || !c.Result.CollectedAt.Equal(all.CollectedAt) {
			t.Fatalf("Get(%q): got %v, want the shared scrape's result", name, c)
		}
	}
}

// A refresh whose queries the one in progress does not answer waits for it to end, so the
// pod never has two requests from the source in flight, and the refreshes waiting share
// the next scrape. The cache then holds the later one.
func TestRefreshNotCoveredWaitsAndSharesTheNextScrape(t *testing.T) {
	h, s := startHeldPod(t)
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	defer s.Close() // its idle connections first
	ctx := context.Background()
	results := make([]map[string]*source.MetricResult, 3)
	var wg sync.WaitGroup
	wg.Go(func() { results[0], _ = s.Refresh(ctx, source.RefreshSpec{Queries: []string{"m"}}) })
	<-h.arrived
	wg.Go(func() { results[1], _ = s.Refresh(ctx, source.RefreshSpec{Queries: []string{AllMetricsQuery}}) })
	wg.Go(func() { results[2], _ = s.Refresh(ctx, source.RefreshSpec{Queries: []string{"other"}}) })
	waitWaiters(t, s, 1, 2)
	close(h.release)
	wg.Wait()

	requests, peak := h.counts()
	if requests != 2 || peak != 1 {
		t.Fatalf("requests: got %d with %d in flight at once, want 2, one at a time", requests, peak)
	}
	first, second := results[0]["m"], results[1][AllMetricsQuery]
	if results[2]["other"].CollectedAt != second.CollectedAt {
		t.Fatalf("the two waiting refreshes: collected at %v and %v, want one scrape", results[2]["other"].CollectedAt, second.CollectedAt)
	}
	if second.CollectedAt.Before(first.CollectedAt) {
		t.Fatalf("the next scrape collected at %v, before the first's %v", second.CollectedAt, first.CollectedAt)
	}
	if v := results[2]["other"].Values[0]; v.Value != 2 {
		t.Fatalf("other: got %v, want the second request's 2", v.Value)
	}
}

// A PromQL query registered while a refresh is in flight reads a metric that refresh
// scrapes for a metric-name query but does not store in the history (no PromQL query
// read it when it started): its Refresh waits for the next scrape, which stores it,
// instead of joining the one in progress and answering ErrNoHistory.
func TestRefreshJoinsOnlyAScrapeThatStoresWhatItsQueriesRead(t *testing.T) {
	h, s := startHeldPod(t)
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	defer s.Close() // its idle connections first
	ctx := context.Background()
	var wg sync.WaitGroup
	wg.Go(func() { _, _ = s.Refresh(ctx, source.RefreshSpec{Queries: []string{"m"}}) })
	<-h.arrived
	s.QueryList().MustRegister(source.QueryTemplate{Name: "sum_m", Type: source.QueryTypePromQL, Template: `sum(m)`})
	var r map[string]*source.MetricResult
	var err error
	wg.Go(func() { r, err = s.Refresh(ctx, source.RefreshSpec{Queries: []string{"sum_m"}}) })
	deadline := time.Now().Add(10 * time.Second)
	for running, next := s.flights.Waiters(); running+next != 2; running, next = s.flights.Waiters() {
		if time.Now().After(deadline) {
			t.Fatalf("the second Refresh did not reach the source's refreshes within 10s")
		}
		time.Sleep(time.Millisecond) // polling a condition with a deadline
	}
	close(h.release)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if q := r["sum_m"]; q.Error != nil || len(q.Values) != 1 || q.Values[0].Value != 2 {
		t.Fatalf("sum(m) registered during a refresh of m: got %v, %v; want the next scrape's 2", q.Values, q.Error)
	}
}
