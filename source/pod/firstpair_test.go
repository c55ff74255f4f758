package pod

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/podscrape/podscrape/internal/localcluster"
	"github.com/podscrape/podscrape/source"
)

// TestRateOverTheFirstTwoScrapesIsAnAnswer: at the second refresh the history holds two
// scrapes of the counter, and a rate over them is an estimate over the span held, with
// the partial window's warning and no Error. The check that
// the series hold two samples counted the window from the first scrape's instant to the
// nanosecond, and from its last pod's: the first scrape's samples, stored at their pod's
// scrape in whole milliseconds, fell before it, and every rate at the second refresh of
// a wall clock (or of a pod scraped before the last) had an ErrPartialWindow.
func TestRateOverTheFirstTwoScrapesIsAnAnswer(t *testing.T) {
	ctx := context.Background()
	check := func(t *testing.T, r *source.MetricResult) {
		t.Helper()
		if r.Error != nil {
			t.Errorf("second refresh: Error %v (ErrPartialWindow: %t); want none: the window holds two scrapes (values %v)",
				r.Error, errors.Is(r.Error, ErrPartialWindow), r.Values)
		}
		// 300 over the 15 s (15.005 s when the pod's second scrape is 5 ms late) held:
		// the rate over the span held, 20/s (history.NarrowRates).
		if len(r.Values) != 1 || r.Values[0].Value < 300/15.005-1e-9 || r.Values[0].Value > 20+1e-9 || len(r.Warnings) == 0 {
			t.Errorf("second refresh: values %v, warnings %q; want 20/s and the partial window's warning", r.Values, r.Warnings)
		}
	}

	t.Run("clock between milliseconds", func(t *testing.T) {
		p, cfg := startBodyPod(t, "# TYPE req counter\nreq_total 1000\n")
		s, clk := fakeClockSource(t, cfg, time.Date(2026, 12, 6, 12, 0, 0, 123456789, time.UTC),
			[]source.QueryTemplate{{Name: "rate", Template: "sum(rate(req_total[1m]))"}})
		mustRefresh(t, s)
		clk.Step(15 * time.Second)
		p.set("# TYPE req counter\nreq_total 1300\n", false)
		check(t, mustRefresh(t, s)["rate"])
	})

	t.Run("pod scraped before the last", func(t *testing.T) {
		ns := fmt.Sprintf("pod-%d", runs.Add(1))
		if err := cp.CreateNamespace(ctx, ns); err != nil {
			t.Fatal(err)
		}
		block := localcluster.NewAddressBlock()
		ips := map[string]string{"a": block.Next(), "b": block.Next()}
		var step func()
		var count int
		port, sel := servePods(t, ctx, ns, "vllm", []string{ips["a"], ips["b"]}, func(ip string) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "text/plain; version=0.0.4")
				if ip == ips["a"] {
					// Scraped first (one scrape at a time, in name order): b's starts 5ms later.
					step()
					count++
					fmt.Fprintf(w, "# TYPE req counter\nreq_total %d\n", 1000+300*(count-1))
					return
				}
				fmt.Fprint(w, "# TYPE other gauge\nother 1\n")
			})
		})
		for _, n := range []string{"a", "b"} {
			if _, err := cp.CreatePod(ctx, localcluster.PodSpec{Namespace: ns, Name: n, Labels: sel, IP: ips[n], Ready: true}); err != nil {
				t.Fatal(err)
			}
		}
		s, clk := fakeClockSource(t, PodScrapingSourceConfig{ServiceName: "vllm", ServiceNamespace: ns, MetricsPort: port, MaxConcurrentScrapes: 1},
			time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC), []source.QueryTemplate{{Name: "rate", Template: "sum(rate(req_total[1m]))"}})
		step = func() { clk.Step(5 * time.Millisecond) }
		mustRefresh(t, s)
		clk.Step(15 * time.Second)
		check(t, mustRefresh(t, s)["rate"])
	})
}
