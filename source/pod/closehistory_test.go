package pod

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/podscrape/podscrape/source"
)

// A Refresh in progress when its source is closed (a controller replacing the source
// while a reconcile reads it) answers from the history Close lets go, as if Close had
// come after, as Close's godoc has it: it made a new, empty history instead, so its
// increase over a window held whole answered nothing, with a partial window Error, and
// the closed source kept that new history for as long as it was held.
func TestRefreshInProgressAtCloseAnswersFromItsHistory(t *testing.T) {
	var count atomic.Int64
	pod := startHoldingPod(t, func() string { return fmt.Sprintf("c_total %d\n", count.Add(1)) })
	t0 := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	s, clk := fakeClockSource(t, pod.cfg, t0, []source.QueryTemplate{{Name: "inc", Template: "increase(c_total[1m])"}})
	for range 5 {
		mustRefresh(t, s)
		clk.Step(20 * time.Second)
	}

	var rs map[string]*source.MetricResult
	err := pod.closeMidScrape(s, func() (err error) {
		rs, err = s.Refresh(context.Background(), source.RefreshSpec{})
		return err
	})
	if err != nil {
		t.Fatalf("the Refresh in progress at Close: %v", err)
	}
	// 20 s between scrapes of a counter going up by 1: 3 over a minute.
	if got := rs["inc"]; len(got.Values) != 1 || got.FirstValue().Value != 3 || got.Error != nil {
		t.Errorf("increase over a window held, by the Refresh in progress at Close: %v (Error %v), want 3 and no Error, as if Close had come after", got.Values, got.Error)
	}
	s.history.mu.Lock()
	held := s.history.store != nil
	s.history.mu.Unlock()
	if held {
		t.Error("the closed source holds a history once its Refresh in progress ended: Close let its history go")
	}
}

// A ScrapeSeries or Refresh in progress when its source is closed keeps nothing for
// its pods' next scrapes once it ends: Close lets each pod's series cache (its memo of
// the exposition, its labels, its samples: as large as the exposition) and points go,
// so that a closed source still held keeps little more than its cached results, as
// Close's godoc has it. The scrape in progress put them back after Close had let them
// go, for as long as the closed source was held.
func TestScrapesInProgressAtCloseKeepNoPodState(t *testing.T) {
	pod := startHoldingPod(t, func() string {
		return fmt.Sprintf("pts 1 %d\npts 2 %d\ng 1\n", time.Now().Add(-time.Minute).UnixMilli(), time.Now().Add(-30*time.Second).UnixMilli())
	})
	for _, c := range []struct {
		name string
		call func(*PodScrapingSource) error
		held func(*PodScrapingSource) int
	}{
		{"ScrapeSeries", func(s *PodScrapingSource) error { _, err := s.ScrapeSeries(context.Background()); return err },
			func(s *PodScrapingSource) int {
				s.seriesCaches.mu.Lock()
				defer s.seriesCaches.mu.Unlock()
				return len(s.seriesCaches.byPod)
			}},
		{"Refresh", func(s *PodScrapingSource) error {
			_, err := s.Refresh(context.Background(), source.RefreshSpec{})
			return err
		},
			func(s *PodScrapingSource) int {
				s.points.mu.Lock()
				defer s.points.mu.Unlock()
				return len(s.points.byPod)
			}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := NewPodScrapingSource(t.Context(), cp.Client, pod.cfg)
			if err != nil {
				t.Fatal(err)
			}
			s.QueryList().MustRegister(source.QueryTemplate{Name: "points", Type: source.QueryTypePromQL, Template: "count_over_time(pts[5m])"})
			if err := c.call(s); err != nil {
				t.Fatal(err)
			}
			if c.held(s) != 1 {
				t.Fatalf("before Close: the state of %d pods kept, want the one pod's", c.held(s))
			}
			if err := pod.closeMidScrape(s, func() error { return c.call(s) }); err != nil {
				t.Fatal(err)
			}
			if n := c.held(s); n != 0 {
				t.Errorf("a closed source keeps the state of %d pods for their next scrape, put back by its %s in progress at Close", n, c.name)
			}
		})
	}
}

// holdingPod is a loopback pod answering body() in the text format, whose next request
// can be held while its source is closed (closeMidScrape).
type holdingPod struct {
	cfg     PodScrapingSourceConfig
	held    atomic.Pointer[chan struct{}] // the next request waits for it to close; nil: none
	entered chan struct{}                 // a held request arrived
}

func startHoldingPod(t *testing.T, body func() string) *holdingPod {
	p := &holdingPod{entered: make(chan struct{}, 1)}
	p.cfg = startHandlerPod(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if release := p.held.Swap(nil); release != nil {
			p.entered <- struct{}{}
			<-*release
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = fmt.Fprint(w, body())
	}))
	return p
}

// closeMidScrape runs call, closes s while call's request to the pod is held, then lets
// the pod answer; it returns call's error.
func (p *holdingPod) closeMidScrape(s *PodScrapingSource, call func() error) error {
	release := make(chan struct{})
	p.held.Store(&release)
	done := make(chan error, 1)
	go func() { done <- call() }()
	<-p.entered
	s.Close()
	close(release)
	return <-done
}
