package pod

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/podscrape/podscrape/source"
)

// TestLoopScrapeThatFailsIsNotAnswered: while the scrape loop runs, a Refresh of PromQL
// queries answers from the loop's last scrape. Once the loop's next scrape fails as a
// whole (the Service deleted), the scrape before is no answer any more: the Refresh
// scrapes itself and returns why, not the old values with a nil error.
func TestLoopScrapeThatFailsIsNotAnswered(t *testing.T) {
	_, cfg := startBodyPod(t, "m 1\n")
	s, clk := runLoop(t, cfg,
		source.QueryTemplate{Name: "m", Type: source.QueryTypeMetricName, Template: "m"},
		source.QueryTemplate{Name: "sum_m", Type: source.QueryTypePromQL, Template: "sum(m)"})
	promql := source.RefreshSpec{Queries: []string{"sum_m"}}
	deadline := time.Now().Add(10 * time.Second)
	for s.Get("m", nil) == nil {
		if time.Now().After(deadline) {
			t.Fatal("the scrape loop did not scrape within 10s")
		}
		time.Sleep(time.Millisecond) // polling the loop's progress with a deadline
	}
	res, err := s.Refresh(context.Background(), promql)
	if err != nil || res["sum_m"].Error != nil || len(res["sum_m"].Values) != 1 {
		t.Fatalf("from the loop's scrape: %v, %v", res["sum_m"], err)
	}

	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: cfg.ServiceNamespace, Name: cfg.ServiceName}}
	if err := cp.Client.Delete(context.Background(), svc); err != nil {
		t.Fatal(err)
	}
	clk.Step(loopInterval) // the loop's next scrape: it fails
	for {
		_, err = s.Refresh(context.Background(), promql)
		if err != nil {
			break
		}
		if time.Now().After(deadline.Add(10 * time.Second)) {
			t.Fatal("Refresh still answers from the scrape before the loop's failed one, with a nil error")
		}
		time.Sleep(time.Millisecond) // polling until the loop's failed scrape has finished
	}
	if !strings.Contains(err.Error(), "not found") {
		t.Errorf("Refresh: %v, want the Service's NotFound", err)
	}
}

// TestLoopScrapeWhereEveryPodFailedIsAnError: a Refresh of PromQL queries that answers
// from the scrape loop's last scrape, where every pod failed, returns ErrAllPodsFailed,
// as a Refresh that scraped them itself does (DESIGN: "Every pod fails: Refresh returns a
// non-nil error"). Before, nothing held it: the loop's error dropped there, Refresh
// returned nil with only the results' Error saying why (an empty sum, read by a caller
// checking the error alone as no load).
func TestLoopScrapeWhereEveryPodFailedIsAnError(t *testing.T) {
	var failing atomic.Bool
	var requests atomic.Int32
	cfg := startHandlerPod(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		requests.Add(1)
		if failing.Load() {
			http.Error(w, "overloaded", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = w.Write([]byte("m 1\n"))
	}))
	s, clk := runLoop(t, cfg, source.QueryTemplate{Name: "sum_m", Type: source.QueryTypePromQL, Template: "sum(m)"})
	// lastRun waits for the loop's scrape to have finished with the pod's nth request.
	lastRun := func(n int32) *refreshOutcome {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			s.loop.mu.Lock()
			last := s.loop.last
			s.loop.mu.Unlock()
			if last != nil && requests.Load() == n && (n == 1 || last.err != nil) {
				return last
			}
			if time.Now().After(deadline) {
				t.Fatalf("the scrape loop's scrape %d did not finish within 10s (%d requests)", n, requests.Load())
			}
			time.Sleep(time.Millisecond) // polling the loop's progress with a deadline
		}
	}
	promql := source.RefreshSpec{Queries: []string{"sum_m"}}
	if last := lastRun(1); last.err != nil {
		t.Fatalf("the loop's first scrape: %v", last.err)
	}
	if res, err := s.Refresh(context.Background(), promql); err != nil || res["sum_m"].Error != nil || len(res["sum_m"].Values) != 1 {
		t.Fatalf("from the loop's scrape: %v, %v", res["sum_m"], err)
	}

	failing.Store(true)
	clk.Step(loopInterval) // the loop's next scrape: the pod answers 503
	if last := lastRun(2); !errors.Is(last.err, ErrAllPodsFailed) {
		t.Fatalf("the loop's second scrape: %v, want ErrAllPodsFailed", last.err)
	}
	res, err := s.Refresh(context.Background(), promql)
	if n := requests.Load(); n != 2 {
		t.Fatalf("pod requests: got %d, want 2 (the Refresh answered from the loop's scrape)", n)
	}
	if !errors.Is(err, ErrAllPodsFailed) {
		t.Fatalf("Refresh from the loop's scrape where every pod failed: got error %v (sum_m %v), want ErrAllPodsFailed", err, res["sum_m"])
	}
}

// loopInterval is the ScrapeInterval of runLoop's sources.
const loopInterval = 15 * time.Second

// runLoop builds a source of cfg on a fake clock, its ScrapeInterval loopInterval, with queries
// registered, and runs its scrape loop (Start) until the test ends.
func runLoop(t *testing.T, cfg PodScrapingSourceConfig, queries ...source.QueryTemplate) (*PodScrapingSource, *clocktesting.FakeClock) {
	t.Helper()
	clk := clocktesting.NewFakeClock(time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC))
	cfg.Clock = clk
	cfg.ScrapeInterval = loopInterval
	s, err := NewPodScrapingSource(context.Background(), cp.Client, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	for _, q := range queries {
		s.QueryList().MustRegister(q)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return s, clk
}
