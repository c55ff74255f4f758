package pod

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// TestScrapeSeriesCallerDeadlineIsNotAPodTimeout: a ScrapeSeries whose caller's context
// has a deadline shorter than ScrapeTimeout ends with that deadline while a pod is still
// answering. The pod did not run into its ScrapeTimeout: as the metrics' doc has it, a
// scrape the caller's context cut short counts as a failure with reason canceled and its
// duration, which measures the caller, is not observed. Before the fix the caller's
// deadline read as the pod's timeout (podscrape_scrape_failures_total{reason="timeout"}
// and a histogram observation), blaming a pod for the caller's budget.
func TestScrapeSeriesCallerDeadlineIsNotAPodTimeout(t *testing.T) {
	reached := make(chan struct{}, 1)
	cfg := startHandlerPod(t, http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		select {
		case reached <- struct{}{}:
		default:
		}
		<-r.Context().Done() // answers nothing until the client gives up
	}))
	reg := prometheus.NewRegistry()
	cfg.Registerer = reg
	cfg.ScrapeTimeout = time.Minute
	s, err := NewPodScrapingSource(context.Background(), cp.Client, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)

	// The caller's deadline passes once the pod holds the request: the pod was reached
	// in time, and the scrape is cut short by the caller alone.
	ctx := newDeadlineOnDemand()
	go func() {
		select {
		case <-reached:
		case <-time.After(30 * time.Second): // a bound, should the pod never be reached
		}
		ctx.expire()
	}()
	_, err = s.ScrapeSeries(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("ScrapeSeries: got %v, want the caller's deadline", err)
	}
	failures := map[string]float64{}
	var observed uint64
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range families {
		for _, m := range mf.GetMetric() {
			switch mf.GetName() {
			case "podscrape_scrape_failures_total":
				for _, l := range m.GetLabel() {
					if l.GetName() == "reason" {
						failures[l.GetValue()] = m.GetCounter().GetValue()
					}
				}
			case "podscrape_scrape_duration_seconds":
				observed = m.GetHistogram().GetSampleCount()
			}
		}
	}
	if failures[ReasonTimeout] != 0 || failures[ReasonCanceled] != 1 {
		t.Errorf("failures: timeout %v, canceled %v; want 0 and 1: the caller's deadline is not the pod's timeout",
			failures[ReasonTimeout], failures[ReasonCanceled])
	}
	if observed != 0 {
		t.Errorf("scrape durations observed: %d, want 0 (the scrape measured the caller)", observed)
	}
}

// deadlineOnDemand is a caller's context whose deadline passes when expire is called.
type deadlineOnDemand struct {
	context.Context
	done chan struct{}
}

func newDeadlineOnDemand() *deadlineOnDemand {
	return &deadlineOnDemand{Context: context.Background(), done: make(chan struct{})}
}

func (c *deadlineOnDemand) expire() { close(c.done) }

func (c *deadlineOnDemand) Deadline() (time.Time, bool) { return time.Now().Add(time.Hour), true }

func (c *deadlineOnDemand) Done() <-chan struct{} { return c.done }

func (c *deadlineOnDemand) Err() error {
	select {
	case <-c.done:
		return context.DeadlineExceeded
	default:
		return nil
	}
}
