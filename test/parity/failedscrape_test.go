package parity

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/podscrape/podscrape/serve"
	"github.com/podscrape/podscrape/source"
	"github.com/podscrape/podscrape/source/pod"
)

// TestFailedScrapeReportsAsPrometheus: a pod over the sample limit (which counts a
// repeated series only when it has a timestamp of its own), and a pod whose exposition
// breaks part-way, are down on both sides, and scrape_samples_scraped says
// what Prometheus' says: every sample the pod over the limit exposed (Prometheus parses
// on past the limit so that the operator sees by how much), and the samples read before
// the line that broke. ScrapeSeries (serve's) and the PromQL history are compared.
func TestFailedScrapeReportsAsPrometheus(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const limit = 4
	bodies := map[string]string{
		"within":      "# TYPE a gauge\na{x=\"1\"} 1\na{x=\"2\"} 2\na{x=\"3\"} 3\n",
		"over":        "# TYPE a gauge\na{x=\"1\"} 1\na{x=\"2\"} 2\na{x=\"3\"} 3\na{x=\"4\"} 4\na{x=\"5\"} 5\na{x=\"6\"} 6\na{x=\"7\"} 7\n",
		"over-broken": "a{x=\"1\"} 1\na{x=\"2\"} 2\na{x=\"3\"} 3\na{x=\"4\"} 4\na{x=\"5\"} 5\na{x=\"6\"} 6\na{x=\"7\" 7\na{x=\"8\"} 8\n",
		"broken":      "a{x=\"1\"} 1\na{x=\"2\"} 2\na{x=\"3\"} x\na{x=\"4\"} 4\n",
		"broken-name": "a{x=\"1\"} 1\n0a 2\n",
		// Repeats without a timestamp never reach Prometheus' storage: not counted.
		"within-repeats": "a{x=\"1\"} 1\na{x=\"2\"} 2\na{x=\"1\"} 3\na{x=\"3\"} 3\na{x=\"2\"} 3\na{x=\"4\"} 4\n",
		// Repeats with one do.
		"over-repeats": "a{x=\"1\"} 1 1000\na{x=\"1\"} 2 1000\na{x=\"2\"} 2\na{x=\"3\"} 3\na{x=\"4\"} 4\n",
		// OpenMetrics without # EOF, and with data after it.
		"om-no-eof":      "a{x=\"1\"} 1\na{x=\"2\"} 2\n",
		"om-after-eof":   "a{x=\"1\"} 1\n# EOF\na{x=\"2\"} 2\n",
		"om-over-no-eof": "a{x=\"1\"} 1\na{x=\"2\"} 2\na{x=\"3\"} 3\na{x=\"4\"} 4\na{x=\"5\"} 5\n",
		// Families only failing pods expose, the last one's metadata after the limit.
		"over-families":   "# TYPE over_a gauge\n# HELP over_a Before the limit.\nover_a{x=\"1\"} 1\nover_a{x=\"2\"} 1\nover_a{x=\"3\"} 1\nover_a{x=\"4\"} 1\n# TYPE over_b counter\n# HELP over_b After it.\nover_b_total 1\n# HELP over_c Last, no sample.\n",
		"broken-families": "# TYPE broken_a gauge\n# HELP broken_a Before the break.\nbroken_a 1\nbroken_a{ 2\n# TYPE broken_b gauge\nbroken_b 1\n",
	}
	names := []string{"broken", "broken-families", "broken-name", "om-after-eof", "om-no-eof", "om-over-no-eof", "over", "over-broken", "over-families", "over-repeats", "within", "within-repeats"}
	queries := map[string]string{
		"up":      `up`,
		"scraped": `scrape_samples_scraped`,
	}
	sc := startScene(t, ctx, sceneSpec{
		prefix: "failed", names: names, queries: queries,
		handler: func(name string) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				ct := textType
				if strings.HasPrefix(name, "om-") {
					ct = omType
				}
				w.Header().Set("Content-Type", ct)
				_, _ = w.Write([]byte(bodies[name]))
			})
		},
		source: func(c *pod.PodScrapingSourceConfig) { c.SampleLimit = limit },
		promConfig: func(c string) string {
			return strings.Replace(c, "- job_name: vllm\n", "- job_name: vllm\n  sample_limit: 4\n", 1)
		},
	})
	waitAnyScrape(t, ctx, sc, time.Now(), len(names))
	pods, err := sc.src.ScrapeSeries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	results, err := sc.src.Refresh(ctx, source.RefreshSpec{})
	if err != nil {
		t.Fatal(err)
	}
	at := results["up"].CollectedAt
	waitAnyScrape(t, ctx, sc, at, len(names))
	want := series{}
	for name := range queries {
		v, _, _, err := sc.prom.API.Query(ctx, queries[name], at)
		if err != nil {
			t.Fatal(err)
		}
		for k, x := range theirs(v) {
			want[dropLabel(k, "job")] = x
		}
	}
	got := series{}
	for _, p := range pods {
		for _, s := range p.Samples {
			if n := s.Labels.Get("__name__"); n == "up" || n == "scrape_samples_scraped" {
				got[labelText(s.Labels.Map())] = s.V
			}
		}
	}
	compareStored(t, "ScrapeSeries", got, want)
	history := series{}
	for name := range queries {
		for k, x := range ours(results[name]) {
			history[k] = x
		}
	}
	compareStored(t, "the PromQL history", history, want)

	// What /api/v1/metadata lists of them: Prometheus' scrape cache takes a family's
	// metadata as the parse meets it, whether the scrape then fails or not.
	base := startServeWith(t, ctx, sc, func(c *serve.Config) { c.Services[0].Source.SampleLimit = limit })
	gotMD, wantMD := apiData(t, base+"/api/v1/metadata"), apiData(t, sc.prom.URL+"/api/v1/metadata")
	sortEntries(gotMD)
	sortEntries(wantMD)
	if !reflect.DeepEqual(gotMD, wantMD) {
		t.Errorf("/api/v1/metadata:\n%s", jsonDiff(gotMD, wantMD))
	}
}

// waitAnyScrape waits until Prometheus holds, for each of want targets, a scrape that
// started after since, up or down.
func waitAnyScrape(t *testing.T, ctx context.Context, sc scene, since time.Time, want int) {
	t.Helper()
	waitCounted(t, ctx, sc.prom, fmt.Sprintf("count(timestamp(up) > %f)", float64(since.UnixMilli())/1000), since, want)
}
