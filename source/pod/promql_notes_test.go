package pod

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	"github.com/podscrape/podscrape/source"
)

// A PromQL result keeps the engine's own annotations beside the history's warnings, and
// an Error joins every reason the answer is incomplete: a partial window does not hide
// the failed pods.
func TestPromQLResultKeepsEveryNote(t *testing.T) {
	p, cfg := startBodyPod(t, "# TYPE load gauge\nload 3\n# TYPE reqs_total counter\nreqs_total 5\n")
	clk := clocktesting.NewFakeClock(time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC))
	cfg.Clock = clk
	s, err := NewPodScrapingSource(context.Background(), cp.Client, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	for _, q := range []source.QueryTemplate{
		{Name: "gauge_rate", Template: "rate(load[1m])"}, // the engine notes load may not be a counter
		{Name: "inc", Template: "increase(reqs_total[10m])"},
	} {
		q.Type = source.QueryTypePromQL
		s.QueryList().MustRegister(q)
	}
	for range 2 {
		if _, err := s.Refresh(context.Background(), source.RefreshSpec{}); err != nil {
			t.Fatal(err)
		}
		clk.Step(15 * time.Second)
	}
	rs := mustRefresh(t, s)
	if w := strings.Join(rs["gauge_rate"].Warnings, "\n"); !strings.Contains(w, "might not be a counter") || !strings.Contains(w, "estimated over the span held") {
		t.Errorf("rate(load[1m]) warnings: %q, want the engine's note that load might not be a counter and the history's partial-window warning", rs["gauge_rate"].Warnings)
	}

	p.set("", true)
	clk.Step(15 * time.Second)
	rs, err = s.Refresh(context.Background(), source.RefreshSpec{})
	if !errors.Is(err, ErrAllPodsFailed) {
		t.Fatalf("Refresh with the only pod failing: %v, want ErrAllPodsFailed", err)
	}
	if !strings.Contains(err.Error(), "(1 pod):") {
		t.Errorf("Refresh with the only pod failing: %q, want it to count \"(1 pod)\"", err)
	}
	var se *ScrapeError
	if e := rs["inc"].Error; !errors.Is(e, ErrPartialWindow) || !errors.As(e, &se) {
		t.Errorf("increase(reqs_total[10m]) after the pod failed: Error %v, want both the partial window and the pod's *ScrapeError", e)
	}
}
