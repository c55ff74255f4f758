package serve

import (
	"fmt"
	"math"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/podscrape/podscrape/podscrapetest"
)

// rateTolerance bounds the relative difference of a rate between serve and Prometheus
// on a counter linear in time: each scrape's timestamp is taken before the pod computes
// its value, a few milliseconds on a busy machine, against 1s between scrapes.
const rateTolerance = 0.05

// TestRatesAsPrometheus asks serve and the real Prometheus server, scraping the same pods
// whose counters grow 10 per second (pod i: 10(i+1)), the windowed functions autoscalers
// use, at the same time: the same shape and labels, and values within rateTolerance.
func TestRatesAsPrometheus(t *testing.T) {
	svc := newService(t, podscrapetest.ServiceOptions{Name: "vllm", Pods: 2})
	t0 := time.Now()
	for i, p := range svc.Pods() {
		p.SetHandler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			v := float64(10*(i+1)) * time.Since(t0).Seconds()
			fmt.Fprintf(w, "# TYPE vllm:request_success counter\nvllm:request_success_total{model_name=\"m\"} %g\n", 1000+v)
		}))
	}
	base, prom := startServeBesidePrometheus(t, svc, "vllm:request_success_total", 5)

	at := strconv.FormatFloat(float64(time.Now().UnixMilli())/1000, 'f', 3, 64)
	for _, q := range []string{
		"sum(rate(vllm:request_success_total[4s]))",
		"sum by (pod) (rate(vllm:request_success_total[4s]))",
		"sum by (pod, model_name) (increase(vllm:request_success_total[4s]))",
		"irate(vllm:request_success_total[4s])",
	} {
		sc, se := get(t, base, "/api/v1/query", url.Values{"query": {q}, "time": {at}})
		pc, pe := get(t, prom.URL, "/api/v1/query", url.Values{"query": {q}, "time": {at}})
		normalize(se.Data)
		normalize(pe.Data)
		if sc != http.StatusOK || pc != http.StatusOK {
			t.Errorf("%s: serve %d %q, prometheus %d %q", q, sc, se.Error, pc, pe.Error)
			continue
		}
		sr, pr := results(se.Data), results(pe.Data)
		if len(sr) == 0 || len(sr) != len(pr) {
			t.Errorf("%s: serve %v, prometheus %v", q, se.Data, pe.Data)
			continue
		}
		for i := range sr {
			sm, pm := sr[i]["metric"], pr[i]["metric"]
			if !reflect.DeepEqual(sm, pm) {
				t.Errorf("%s: result %d labels: serve %v, prometheus %v", q, i, sm, pm)
			}
			sv, pv := value(t, sr[i]), value(t, pr[i])
			if math.Abs(sv-pv) > rateTolerance*math.Abs(pv) || pv == 0 {
				t.Errorf("%s%v: serve %g, prometheus %g (tolerance %g)", q, sm, sv, pv, rateTolerance)
			}
		}
	}
}

// results is the result list of a query's data.
func results(data any) []map[string]any {
	var out []map[string]any
	list, _ := data.(map[string]any)["result"].([]any)
	for _, r := range list {
		out = append(out, r.(map[string]any))
	}
	return out
}

// value is the number of a vector sample.
func value(t *testing.T, r map[string]any) float64 {
	t.Helper()
	s, _ := r["value"].([]any)[1].(string)
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("value %v: %v", r["value"], err)
	}
	return v
}
