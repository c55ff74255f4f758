package pod

import (
	"context"
	"errors"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	"github.com/podscrape/podscrape/source"
)

// TestEstimateOverTooLittleHistoryIsNotEmpty: a rate whose window reaches before the
// history is right over the span held, so it is a warning, but on the first refresh it
// has one scrape to estimate from and gives nothing: an empty answer with a nil Error
// would read as no load. It is the Error then, a *PartialWindowError; once the history
// holds two scrapes the rate is estimated, with the warning only.
func TestEstimateOverTooLittleHistoryIsNotEmpty(t *testing.T) {
	p, cfg := startBodyPod(t, "# TYPE req counter\nreq_total 1000\n")
	clk := clocktesting.NewFakeClock(time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC))
	cfg.Clock = clk
	s, err := NewPodScrapingSource(context.Background(), cp.Client, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	s.QueryList().MustRegister(source.QueryTemplate{Name: "request_rate", Type: source.QueryTypePromQL, Template: "sum(rate(req_total[1m]))"})

	res, err := s.Refresh(context.Background(), source.RefreshSpec{})
	if err != nil {
		t.Fatal(err)
	}
	r := res["request_rate"]
	var pw *PartialWindowError
	if len(r.Values) != 0 || !errors.As(r.Error, &pw) || pw.Func != "rate" || pw.Window != time.Minute || pw.Held != 0 {
		t.Fatalf("first refresh: values %v, Error %v; want none and a PartialWindowError of rate over 1m, 0s held", r.Values, r.Error)
	}

	clk.Step(30 * time.Second)
	p.set("# TYPE req counter\nreq_total 1300\n", false)
	if res, err = s.Refresh(context.Background(), source.RefreshSpec{}); err != nil {
		t.Fatal(err)
	}
	r = res["request_rate"]
	// The window reaches 30 s before the first scrape, less than 1.1 spacings:
	// Prometheus extrapolates over it, the window is whole (history.ReachesBefore).
	if len(r.Values) != 1 || r.Values[0].Value != 10 || r.Error != nil || len(r.Warnings) != 0 {
		t.Errorf("after 30 s: values %v, Error %v, warnings %q; want 10/s, no Error, no warning", r.Values, r.Error, r.Warnings)
	}
}
