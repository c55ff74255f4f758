package serve_test

import (
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/podscrape/podscrape/serve"
)

// TestIncreaseWholeOneSpacingAfterTheStart: a Service scraped every 15 s (built in the
// past, serve.ScrapeAt, the queries asked at times of it), its counter growing by 10 a
// scrape. increase(reqs_total[10m])
// reaching 29 s before the first scrape is 422; reaching 14 s before it (under 1.1
// spacings) is whole, as Prometheus extrapolates over it: 200 with the full window's 400,
// no warning. The rule is history.ReachesBefore, the pod source's too (source/pod's
// TestPromQLAnswers/windows_fill_up_over_10_minutes pins the same boundary).
func TestIncreaseWholeOneSpacingAfterTheStart(t *testing.T) {
	svc := newService(t, "vllm", 1, "")
	p := svc.Pods()[0]
	srv, base := runReadyServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}, MaxAge: 4 * time.Minute, Interval: time.Hour, Retention: 30 * time.Minute})
	began := time.Now().Add(-20 * time.Minute)
	const expr = "sum(increase(reqs_total[10m]))"
	at := func(i int) time.Time { return began.Add(time.Duration(i) * 15 * time.Second) }
	ask := func(when time.Time) (int, apiResponse) {
		return call(t, http.MethodGet, base, "/api/v1/query", url.Values{"query": {expr},
			"time": {strconv.FormatFloat(float64(when.UnixMilli())/1000, 'f', 3, 64)}})
	}
	for i := 0; i <= 39; i++ {
		p.SetBody(fmt.Sprintf("# TYPE reqs counter\nreqs_total %d\n", 1000+10*i))
		if err := serve.ScrapeAt(t.Context(), srv, 0, at(i)); err != nil {
			t.Fatal(err)
		}
	}
	// 9m30s held: the window reaches 29 s before the first scrape.
	if code, r := ask(at(38).Add(time.Second)); code != http.StatusUnprocessableEntity || !strings.Contains(r.Error, "partial window") {
		t.Errorf("9m30s held: got %d %q %s, want 422 partial window", code, r.Error, r.Data)
	}
	code, r := ask(at(39).Add(time.Second))
	if code != http.StatusOK || len(r.Warnings) != 0 {
		t.Fatalf("9m45s held: got %d %q %q, want 200 without warnings", code, r.Error, r.Warnings)
	}
	v := vector(t, r)
	if len(v) != 1 {
		t.Fatalf("9m45s held: got %s, want one sample", r.Data)
	}
	got, err := strconv.ParseFloat(v[0].Value[1].(string), 64)
	if err != nil || math.Abs(got-400) > 4 {
		t.Errorf("9m45s held: got %s, want about 400 (the full window's, extrapolated to its start)", r.Data)
	}
}
