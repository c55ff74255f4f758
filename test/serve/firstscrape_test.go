package serve

import (
	"net/http"
	"testing"
	"time"

	"github.com/podscrape/podscrape/podscrapetest"
	"github.com/podscrape/podscrape/serve"
	"github.com/podscrape/podscrape/source"
	promsource "github.com/podscrape/podscrape/source/prometheus"
)

// TestFirstRefreshWaitsForServesFirstScrape: an autoscaler's PrometheusSource reading a
// serve that has just started, its Service's first scrape under way (the pod slow to
// answer). serve answers the query 503 unavailable, "not scraped yet", with Retry-After;
// the source asks again after it, and the Refresh answers the pod's value once the
// scrape is in, within QueryTimeout. Before, the 503 unavailable was final: the
// controller's first Refresh after every serve restart failed though serve answered a
// second later.
func TestFirstRefreshWaitsForServesFirstScrape(t *testing.T) {
	svc := newService(t, podscrapetest.ServiceOptions{Name: "vllm", Pods: 1})
	release := make(chan struct{})
	svc.Pods()[0].SetHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		_, _ = w.Write([]byte(body(0)))
	}))
	released := false
	defer func() {
		if !released {
			close(release)
		}
	}()
	sc := serve.ServiceConfig{Source: sourceConfig(svc)}
	sc.Source.ScrapeTimeout = time.Minute // the first scrape waits on the pod until released
	base := runServe(t, serve.Config{Services: []serve.ServiceConfig{sc}, Interval: 4 * time.Minute})

	api, err := promsource.NewAPI(promsource.ClientConfig{URL: base})
	if err != nil {
		t.Fatal(err)
	}
	promSrc := promsource.NewPrometheusSource(t.Context(), api, promsource.PrometheusSourceConfig{QueryTimeout: 20 * time.Second})
	promSrc.QueryList().MustRegister(source.QueryTemplate{Name: "waiting", Type: source.QueryTypePromQL, Template: `sum(vllm:num_requests_waiting)`})
	// The Refresh evaluates at its start: after the first scrape began, whose samples
	// are of when it asked the pod (a time before the history is 422, docs/serve.md).
	poll(t, "serve's first scrape asking the pod", func() (bool, string) { return svc.Pods()[0].Requests() >= 1, "" })
	type refreshed struct {
		results map[string]*source.MetricResult
		err     error
	}
	got := make(chan refreshed, 1)
	go func() {
		results, err := promSrc.Refresh(t.Context(), source.RefreshSpec{})
		got <- refreshed{results, err}
	}()
	// The pod released only once serve answered the Refresh's query "not scraped yet".
	const notYet = `podscrape_serve_queries_total{endpoint="query",error_type="unavailable"}`
	poll(t, "serve's 503 not scraped yet", func() (bool, string) {
		_, values := ownMetrics(t, base)
		return values[notYet] >= 1, ""
	})
	close(release)
	released = true
	r := <-got
	if r.err != nil || r.results["waiting"] == nil || r.results["waiting"].Error != nil {
		t.Fatalf("Refresh: %v, result %+v; want the pod's value once serve scraped it", r.err, r.results["waiting"])
	}
	if v := r.results["waiting"].FirstValue().Value; v != 2 {
		t.Errorf("waiting: got %v, want 2 (the pod's)", v)
	}
}
