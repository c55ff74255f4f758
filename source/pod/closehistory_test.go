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
	var hold atomic.Bool
	var count atomic.Int64
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	cfg := startHandlerPod(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if hold.Load() {
			entered <- struct{}{}
			<-release
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = fmt.Fprintf(w, "c_total %d\n", count.Add(1))
	}))
	t0 := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	s, clk := fakeClockSource(t, cfg, t0, []source.QueryTemplate{{Name: "inc", Template: "increase(c_total[1m])"}})
	for range 5 {
		mustRefresh(t, s)
		clk.Step(20 * time.Second)
	}

	hold.Store(true)
	type answer struct {
		rs  map[string]*source.MetricResult
		err error
	}
	done := make(chan answer, 1)
	go func() {
		rs, err := s.Refresh(context.Background(), source.RefreshSpec{})
		done <- answer{rs, err}
	}()
	<-entered
	s.Close()
	close(release)
	a := <-done
	if a.err != nil {
		t.Fatalf("the Refresh in progress at Close: %v", a.err)
	}
	// 20 s between scrapes of a counter going up by 1: 3 over a minute.
	if got := a.rs["inc"]; len(got.Values) != 1 || got.FirstValue().Value != 3 || got.Error != nil {
		t.Errorf("increase over a window held, by the Refresh in progress at Close: %v (Error %v), want 3 and no Error, as if Close had come after", got.Values, got.Error)
	}
	s.history.mu.Lock()
	held := s.history.store != nil
	s.history.mu.Unlock()
	if held {
		t.Error("the closed source holds a history once its Refresh in progress ended: Close let its history go")
	}
}
