package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/podscrape/podscrape/source"
	"github.com/podscrape/podscrape/source/pod"
)

// A repeated series, as Prometheus treats it: the first sample is kept, the repeat is
// dropped and counted, and the pod stays up. The count is in the source's metric and in
// the V(1) log of the refresh.
func TestDuplicateSeriesKeepTheFirstAndThePodUp(t *testing.T) {
	t.Parallel()
	f := startService(t,
		podDef{name: "repeats", handler: serve([]byte(
			"m{a=\"1\",b=\"2\"} 1\nm{b=\"2\",a=\"1\"} 2\nother 5\nother 6\nfine 1\n"))},
		podDef{name: "clean", handler: serve([]byte("m{a=\"1\",b=\"2\"} 7\n"))},
	)
	reg := prometheus.NewRegistry()
	cfg := f.config()
	cfg.Registerer = reg
	s := newSource(t, cfg)
	s.QueryList().MustRegister(source.QueryTemplate{Name: "m", Type: source.QueryTypeMetricName, Template: "m"})

	var logs logBuffer
	ctx, cancel := context.WithTimeout(logr.NewContext(context.Background(), logs.logger(1)), 30*time.Second)
	defer cancel()
	results, err := s.Refresh(ctx, source.RefreshSpec{})
	if err != nil {
		t.Fatalf("Refresh: got %v, want nil", err)
	}
	r := results[pod.AllMetricsQuery]
	if r.Error != nil {
		t.Fatalf("result error: got %v, want none (a repeated series does not fail the pod)", r.Error)
	}
	if up := upByPod(r); up["repeats"] != 1 || up["clean"] != 1 {
		t.Fatalf("up: got %v, want both pods up", up)
	}
	for name, want := range map[string]float64{"m": 1, "other": 5, "fine": 1} {
		got := samples(r, name)["repeats"]
		if len(got) != 1 || got[0].Value != want {
			t.Errorf("%s of the repeating pod: got %v, want the first sample only, %v", name, got, want)
		}
	}
	if got := samples(r, "scrape_samples_scraped")["repeats"]; len(got) != 1 || got[0].Value != 5 {
		t.Errorf("scrape_samples_scraped: got %v, want 5 (every sample line, dropped ones included)", got)
	}
	if got := results["m"].Values; len(got) != 4 { // per pod: m, then up
		t.Errorf("the m query: got %d values %v, want m and up of each pod", len(got), got)
	}
	if got := value(t, reg, "podscrape_samples_duplicate_total", nil); got != 2 {
		t.Errorf("podscrape_samples_duplicate_total: got %v, want 2", got)
	}
	var line string
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, "repeated series") {
			line = l
		}
	}
	if !strings.Contains(line, `"dropped"=2`) || !strings.Contains(line, "/repeats") || strings.Contains(logs.String(), "/clean") {
		t.Errorf("logs: got %q, want one V(1) line naming the repeating pod with dropped=2, and none for the clean pod", logs.String())
	}
}
