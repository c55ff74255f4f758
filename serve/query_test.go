package serve_test

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podscrape/podscrape/serve"
)

const waiting = "# TYPE vllm:num_requests_waiting gauge\nvllm:num_requests_waiting 3\n"

func TestInstantQueryAnswersAsPrometheus(t *testing.T) {
	svc := newService(t, "vllm", 2, waiting)
	base := startServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}})

	for _, method := range []string{http.MethodGet, http.MethodPost} {
		t.Run(method, func(t *testing.T) {
			code, r := call(t, method, base, "/api/v1/query", url.Values{"query": {"vllm:num_requests_waiting"}})
			if code != http.StatusOK || r.Status != "success" {
				t.Fatalf("got %d %+v, want 200 success", code, r)
			}
			got := vector(t, r)
			if len(got) != 2 {
				t.Fatalf("got %d samples, want 2: %+v", len(got), got)
			}
			for i, s := range got {
				want := map[string]string{"__name__": "vllm:num_requests_waiting", "job": "vllm", "namespace": svc.Namespace, "pod": svc.Pods()[i].Name}
				for k, v := range want {
					if s.Metric[k] != v {
						t.Errorf("sample %d: label %s = %q, want %q (%v)", i, k, s.Metric[k], v, s.Metric)
					}
				}
				if s.Value[1] != "3" {
					t.Errorf("sample %d: value %v, want \"3\" (a string, as Prometheus encodes it)", i, s.Value[1])
				}
				if _, ok := s.Value[0].(float64); !ok {
					t.Errorf("sample %d: timestamp %v is not a number of seconds", i, s.Value[0])
				}
			}
			if len(r.Warnings) != 0 {
				t.Errorf("warnings %v, want none", r.Warnings)
			}
		})
	}
}

func TestScalarAndEmptyAnswers(t *testing.T) {
	svc := newService(t, "vllm", 1, waiting)
	base := startServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}})

	_, r := query(t, base, "scalar(sum(vllm:num_requests_waiting))")
	if !strings.Contains(string(r.Data), `"resultType":"scalar","result":[`) || !strings.Contains(string(r.Data), `,"3"]`) {
		t.Errorf("scalar data %s, want resultType scalar and [t,\"3\"]", r.Data)
	}
	_, r = query(t, base, `vllm:num_requests_waiting{pod="nope"}`)
	if string(r.Data) != `{"resultType":"vector","result":[]}` {
		t.Errorf("empty answer %s, want result [] (not null)", r.Data)
	}
}

func TestBadPromQLIsBadData(t *testing.T) {
	svc := newService(t, "vllm", 1, waiting)
	base := startServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}})

	for _, tc := range []struct{ path, query, want string }{
		{"/api/v1/query", "sum(", `invalid parameter "query"`},
		{"/api/v1/query", "rate(x)", `invalid parameter "query"`},
		{"/api/v1/query_range", "up", `invalid parameter "start"`},
	} {
		code, r := call(t, http.MethodGet, base, tc.path, url.Values{"query": {tc.query}})
		if code != http.StatusBadRequest || r.ErrorType != "bad_data" || !strings.Contains(r.Error, tc.want) {
			t.Errorf("%s %q: got %d %s %q, want 400 bad_data containing %q", tc.path, tc.query, code, r.ErrorType, r.Error, tc.want)
		}
	}
}

func TestEveryPodFailedIsUnavailable(t *testing.T) {
	svc := newService(t, "vllm", 2, waiting)
	for _, p := range svc.Pods() {
		p.SetHandler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "boom", http.StatusInternalServerError) }))
	}
	base := startServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}})

	code, r := query(t, base, "sum(vllm:num_requests_waiting)")
	if code != http.StatusServiceUnavailable || r.ErrorType != "unavailable" {
		t.Fatalf("got %d %q %q, want 503 unavailable", code, r.ErrorType, r.Error)
	}
	for _, want := range append([]string{svc.Namespace + "/vllm"}, svc.Pods()[0].Name, svc.Pods()[1].Name) {
		if !strings.Contains(r.Error, want) {
			t.Errorf("error %q does not name %s", r.Error, want)
		}
	}
	// A range query (Grafana's) of the same: the same error.
	now := time.Now()
	code, r = call(t, http.MethodGet, base, "/api/v1/query_range", url.Values{
		"query": {"sum(vllm:num_requests_waiting)"}, "start": {formatTime(now.Add(-time.Minute))}, "end": {formatTime(now)}, "step": {"15"},
	})
	if code != http.StatusServiceUnavailable || r.ErrorType != "unavailable" || !strings.Contains(r.Error, svc.Pods()[0].Name) {
		t.Errorf("query_range: got %d %q %q, want 503 unavailable naming the pods", code, r.ErrorType, r.Error)
	}
	// up reads health, not data: it answers, with each pod down.
	code, r = query(t, base, "up")
	if code != http.StatusOK {
		t.Fatalf("up: got %d %q, want 200", code, r.Error)
	}
	for _, s := range vector(t, r) {
		if s.Value[1] != "0" {
			t.Errorf("up%v = %v, want 0", s.Metric, s.Value[1])
		}
	}
}

func TestEveryPodFailingLaterIsUnavailable(t *testing.T) {
	svc := newService(t, "vllm", 1, waiting)
	base := startServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}, MaxAge: time.Nanosecond})
	if code, r := query(t, base, "sum(vllm:num_requests_waiting)"); code != http.StatusOK {
		t.Fatalf("healthy: got %d %q, want 200", code, r.Error)
	}
	svc.Pods()[0].SetHandler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "boom", http.StatusInternalServerError) }))
	code, r := query(t, base, "sum(vllm:num_requests_waiting)")
	if code != http.StatusServiceUnavailable || r.ErrorType != "unavailable" || !strings.Contains(r.Error, svc.Pods()[0].Name) {
		t.Fatalf("got %d %q %q, want 503 unavailable naming the pod", code, r.ErrorType, r.Error)
	}
}

func TestSomePodsFailedIsWarning(t *testing.T) {
	svc := newService(t, "vllm", 2, waiting)
	bad := svc.Pods()[1]
	bad.SetHandler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "boom", http.StatusInternalServerError) }))
	base := startServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}})

	code, r := query(t, base, "sum(vllm:num_requests_waiting)")
	if code != http.StatusOK {
		t.Fatalf("got %d %q, want 200", code, r.Error)
	}
	if got := vector(t, r); len(got) != 1 || got[0].Value[1] != "3" {
		t.Errorf("got %+v, want the healthy pod's 3", got)
	}
	if len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], bad.Name) || !strings.Contains(r.Warnings[0], svc.Namespace+"/vllm") {
		t.Errorf("warnings %q, want one naming service %s/vllm and pod %s", r.Warnings, svc.Namespace, bad.Name)
	}
}

func TestQueryOfAnotherServiceIgnoresTheFailedOne(t *testing.T) {
	good := newService(t, "epp", 1, "# TYPE epp_queue gauge\nepp_queue 1\n")
	down := newService(t, "vllm", 1, waiting)
	down.Pods()[0].SetHandler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "boom", http.StatusInternalServerError) }))
	base := startServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(good), serviceConfig(down)}})

	// vllm never answered: what it exposes is unknown, so only its job and namespace
	// matchers tell the query does not read it.
	code, r := query(t, base, `epp_queue{job="epp"}`)
	if code != http.StatusOK || len(r.Warnings) != 0 {
		t.Fatalf("got %d %q %q, want 200 without warnings", code, r.Error, r.Warnings)
	}
	code, _ = query(t, base, `epp_queue`)
	if code != http.StatusServiceUnavailable {
		t.Errorf("epp_queue without a job matcher: got %d, want 503 (vllm may expose it)", code)
	}
}

func TestPartialWindows(t *testing.T) {
	svc := newService(t, "vllm", 1, "# TYPE reqs counter\nreqs_total 10\n")
	// A window is partial when it starts more than an interval before the first scrape.
	cfg := serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}, Interval: time.Second}
	base := startServer(t, cfg)

	code, r := query(t, base, "sum(increase(reqs_total[10m]))")
	if code != http.StatusUnprocessableEntity || r.ErrorType != "execution" {
		t.Fatalf("increase over 10m of a new history: got %d %q %q, want 422 execution", code, r.ErrorType, r.Error)
	}
	for _, want := range []string{"increase(reqs_total[10m])", "10m", svc.Namespace + "/vllm", "since"} {
		if !strings.Contains(r.Error, want) {
			t.Errorf("error %q does not say %q", r.Error, want)
		}
	}

	now := time.Now()
	code, r = call(t, http.MethodGet, base, "/api/v1/query_range", url.Values{
		"query": {"sum(increase(reqs_total[10m]))"}, "start": {formatTime(now.Add(-time.Minute))}, "end": {formatTime(now)}, "step": {"15"},
	})
	if code != http.StatusUnprocessableEntity || r.ErrorType != "execution" || !strings.Contains(r.Error, "increase(reqs_total[10m])") {
		t.Errorf("query_range of increase over 10m: got %d %q %q, want 422 execution naming the window", code, r.ErrorType, r.Error)
	}

	// rate's partial windows: TestEstimateOverTooLittleHistory.

	code, r = query(t, base, "reqs_total offset 1h")
	if code != http.StatusUnprocessableEntity {
		t.Errorf("offset 1h: got %d %q, want 422", code, r.Error)
	}

	// Classed as the pod source classes it (history.Windows): absent_over_time over a
	// shorter span may say "absent" where the full window had a sample, so it sums.
	code, r = query(t, base, "absent_over_time(reqs_total[10m])")
	if code != http.StatusUnprocessableEntity || !strings.Contains(r.Error, "absent_over_time(reqs_total[10m])") {
		t.Errorf("absent_over_time over 10m: got %d %q, want 422 naming the window, as the pod source's ErrPartialWindow", code, r.Error)
	}

	// A window pinned by @ is checked from its pinned time: @ end() is the query's time,
	// @ 0 reads 1970, before any history (an empty answer, which KEDA reads as 0).
	for _, expr := range []string{"sum(increase(reqs_total[10m] @ end()))", "sum(increase(reqs_total[10m] @ 0))", "reqs_total @ 0"} {
		if code, r = query(t, base, expr); code != http.StatusUnprocessableEntity || !strings.Contains(r.Error, svc.Namespace+"/vllm") {
			t.Errorf("%s: got %d %q, want 422 naming the Service", expr, code, r.Error)
		}
	}
	code, r = call(t, http.MethodGet, base, "/api/v1/query_range", url.Values{
		"query": {"sum(increase(reqs_total[10m] @ end()))"}, "start": {formatTime(now.Add(-time.Minute))}, "end": {formatTime(now)}, "step": {"15"},
	})
	if code != http.StatusUnprocessableEntity || !strings.Contains(r.Error, "increase(reqs_total[10m] @ end())") {
		t.Errorf("query_range of increase over 10m @ end(): got %d %q, want 422 naming the window", code, r.Error)
	}
	if code, r = query(t, base, fmt.Sprintf("reqs_total @ %d", time.Now().Add(time.Hour).Unix())); code != http.StatusOK {
		t.Errorf("an instant selector pinned after the history's start: got %d %q, want 200", code, r.Error)
	}

	cfg.AllowPartialWindows = true
	cfg.Services = []serve.ServiceConfig{serviceConfig(newService(t, "vllm", 1, "# TYPE reqs counter\nreqs_total 10\n"))}
	base2 := startServer(t, cfg)
	code, r = query(t, base2, "sum(increase(reqs_total[10m]))")
	if code != http.StatusOK || len(r.Warnings) == 0 || !strings.Contains(r.Warnings[0], "increase(reqs_total[10m])") {
		t.Errorf("AllowPartialWindows: got %d %q warnings %q, want 200 with the window in a warning", code, r.Error, r.Warnings)
	}
}

// TestCoveredWindowHasNoWarning: a window reaching back before the first scrape by less
// than Prometheus extrapolates over (1.1 times the spacing of the scrapes) is whole; by
// more, with the scrapes on demand (MaxAge) and the loop's interval an hour, it is
// partial: it was taken as whole up to an hour back, and an increase over a history of
// one scrape answered 200 with nothing to add up, where the pod source has
// ErrPartialWindow.
func TestCoveredWindowHasNoWarning(t *testing.T) {
	svc := newService(t, "vllm", 1, "# TYPE reqs counter\nreqs_total 10\n")
	const maxAge = 400 * time.Millisecond
	base := startServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}, MaxAge: maxAge})
	const expr = "sum(increase(reqs_total[1s]))"
	if code, r := query(t, base, expr); code != http.StatusUnprocessableEntity || !strings.Contains(r.Error, "partial window") {
		t.Errorf("over the first scrape: got %d %q %q, want 422 partial window", code, r.Error, r.Warnings)
	}
	// Scrapes at least MaxAge apart, which the queries make: [1s] then reaches back at
	// most a spacing before the first of three.
	for deadline := time.Now().Add(10 * time.Second); svc.Pods()[0].Requests() < 3; {
		query(t, base, "up")
		if time.Now().After(deadline) {
			t.Fatalf("no three scrapes within 10s: %d", svc.Pods()[0].Requests())
		}
		time.Sleep(maxAge / 8) // polling the server until its newest scrape is older than MaxAge
	}
	if code, r := query(t, base, expr); code != http.StatusOK || len(r.Warnings) != 0 {
		t.Errorf("over three scrapes: got %d %q %q, want 200 without warnings", code, r.Error, r.Warnings)
	}
}

func TestMaxAgeScrapesOnceForConcurrentQueries(t *testing.T) {
	svc := newService(t, "vllm", 1, waiting)
	p := svc.Pods()[0]
	base := startServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}, MaxAge: 4 * time.Minute})

	before := p.Requests()
	p.SetBody("# TYPE vllm:num_requests_waiting gauge\nvllm:num_requests_waiting 7\n")
	if _, r := query(t, base, "sum(vllm:num_requests_waiting)"); vector(t, r)[0].Value[1] != "3" {
		t.Errorf("within MaxAge: got %s, want the interval's 3", r.Data)
	}
	if got := p.Requests(); got != before {
		t.Errorf("within MaxAge: the pod got %d requests, want none", got-before)
	}
}

func TestMaxAgeFreshensTheAnswer(t *testing.T) {
	svc := newService(t, "vllm", 1, waiting)
	p := svc.Pods()[0]
	base := startServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}, MaxAge: time.Nanosecond})

	p.SetBody("# TYPE vllm:num_requests_waiting gauge\nvllm:num_requests_waiting 7\n")
	if _, r := query(t, base, "sum(vllm:num_requests_waiting)"); vector(t, r)[0].Value[1] != "7" {
		t.Errorf("past MaxAge: got %s, want the fresh 7", r.Data)
	}

	// Concurrent queries share scrapes: a pod gets fewer requests than there are queries.
	const n = 16
	release := make(chan struct{})
	p.SetHandler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		<-release
		_, _ = w.Write([]byte(waiting))
	}))
	before := p.Requests()
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			if code, r := query(t, base, "sum(vllm:num_requests_waiting)"); code != http.StatusOK {
				t.Errorf("got %d %q", code, r.Error)
			}
		})
	}
	// Let the first scrape through once every query waits for a scrape: the others
	// join the next one.
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(get(t, base+"/metrics"), fmt.Sprintf("podscrape_serve_queries_waiting_for_scrape %d\n", n)) {
		if time.Now().After(deadline) {
			t.Fatal("the queries never all waited for a scrape")
		}
		time.Sleep(time.Millisecond) // polling the server's own metric
	}
	close(release)
	wg.Wait()
	if got := p.Requests() - before; got > 2 {
		t.Errorf("%d concurrent queries made %d scrapes, want at most 2 (the one in flight and the next)", n, got)
	}
}

func TestQueryRange(t *testing.T) {
	svc := newService(t, "vllm", 1, waiting)
	base := startServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}})
	now := time.Now()
	code, r := call(t, http.MethodPost, base, "/api/v1/query_range", url.Values{
		"query": {"sum(vllm:num_requests_waiting)"},
		"start": {formatTime(now.Add(-time.Second))}, "end": {formatTime(now)}, "step": {"0.5"},
	})
	if code != http.StatusOK {
		t.Fatalf("got %d %q", code, r.Error)
	}
	if !strings.HasPrefix(string(r.Data), `{"resultType":"matrix","result":[{"metric":{},"values":[[`) {
		t.Errorf("data %s, want a matrix of one series with values", r.Data)
	}
	// An aggregation over nothing: the engine answers a nil Matrix, which must encode
	// as [] as Prometheus answers (KEDA and prometheus-adapter read null as no data).
	code, r = call(t, http.MethodPost, base, "/api/v1/query_range", url.Values{
		"query": {"sum(nope)"},
		"start": {formatTime(now.Add(-time.Second))}, "end": {formatTime(now)}, "step": {"0.5"},
	})
	if code != http.StatusOK || string(r.Data) != `{"resultType":"matrix","result":[]}` {
		t.Errorf("empty range answer: got %d %s, want 200 result [] (not null)", code, r.Data)
	}
}

// formatTime writes t as Unix seconds with milliseconds, as clients send it.
func formatTime(t time.Time) string {
	return strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', 3, 64)
}

func TestConcurrentQueriesShareTheScrapeInFlight(t *testing.T) {
	svc := newService(t, "vllm", 1, waiting)
	p := svc.Pods()[0]
	release := make(chan struct{})
	p.SetHandler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		<-release
		_, _ = w.Write([]byte(waiting))
	}))
	base := runServer(t, t.Context(), serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}, Interval: time.Hour, MaxAge: 4 * time.Minute})

	// The first scrape (Run's) hangs in the pod; queries arriving meanwhile join it.
	deadline := time.Now().Add(10 * time.Second)
	for p.Requests() == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond) // polling the pod's request count
	}
	const n = 8
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			if code, r := query(t, base, "sum(vllm:num_requests_waiting)"); code != http.StatusOK || vector(t, r)[0].Value[1] != "3" {
				t.Errorf("got %d %s %q", code, r.Data, r.Error)
			}
		})
	}
	// Release the pod once every query waits for a scrape.
	for !strings.Contains(get(t, base+"/metrics"), fmt.Sprintf("podscrape_serve_queries_waiting_for_scrape %d\n", n)) {
		if time.Now().After(deadline) {
			t.Fatal("the queries never all waited for the scrape")
		}
		time.Sleep(time.Millisecond) // polling the server's own metric
	}
	close(release)
	wg.Wait()
	if got := p.Requests(); got != 1 {
		t.Errorf("%d queries during the first scrape made %d scrapes, want 1 (they join it)", n, got)
	}
}

// get returns the body at u.
func get(t *testing.T, u string) string {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestMissingServiceIsUnavailable(t *testing.T) {
	svc := newService(t, "vllm", 1, waiting)
	missing := serviceConfig(svc)
	missing.Source.ServiceName = "nope"
	base := startServer(t, serve.Config{Services: []serve.ServiceConfig{missing}})
	// up has no pod to answer for either: KEDA would read [] as 0.
	for _, expr := range []string{"sum(vllm:num_requests_waiting)", "up", "count(up == 1)", "scrape_samples_scraped"} {
		code, r := query(t, base, expr)
		if code != http.StatusServiceUnavailable || r.ErrorType != "unavailable" || !strings.Contains(r.Error, svc.Namespace+"/nope") {
			t.Errorf("%s: got %d %q %q, want 503 unavailable naming the Service", expr, code, r.ErrorType, r.Error)
		}
	}
}

// A Service whose pods can no longer be listed gives no health either: up's samples of
// the last scrape that listed them are not an answer for pods that may be gone.
func TestServiceGoneLaterIsUnavailableForUp(t *testing.T) {
	svc := newService(t, "vllm", 2, waiting)
	base := startServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}, MaxAge: time.Nanosecond})
	code, r := query(t, base, "count(up == 1)")
	if code != http.StatusOK || len(vector(t, r)) != 1 || vector(t, r)[0].Value[1] != "2" {
		t.Fatalf("healthy: got %d %q %s, want 200 with 2", code, r.Error, r.Data)
	}
	gone := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: svc.Namespace, Name: svc.Name}}
	if err := env.Client.Delete(t.Context(), gone); err != nil {
		t.Fatal(err)
	}
	code, r = query(t, base, "count(up == 1)")
	if code != http.StatusServiceUnavailable || r.ErrorType != "unavailable" || !strings.Contains(r.Error, svc.Namespace+"/vllm") {
		t.Errorf("after the Service was deleted: got %d %q %q %s, want 503 unavailable naming the Service", code, r.ErrorType, r.Error, r.Data)
	}
}

func TestSeriesLimitIsWarning(t *testing.T) {
	svc := newService(t, "vllm", 1, waiting)
	base := startServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}, SeriesLimit: 2})
	// The series limit let in the first two series: the query's may be among the refused.
	code, r := query(t, base, "sum(vllm:num_requests_waiting)")
	if code != http.StatusOK || len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "series limit") || !strings.Contains(r.Warnings[0], svc.Namespace+"/vllm") {
		t.Errorf("got %d %q warnings %q, want 200 with a warning naming the Service and the series limit", code, r.Error, r.Warnings)
	}
}

// A query's own lookback_delta is the one its Selects are read with: a smoothed selector
// at half the server's lookback delta (whose span is then an instant selector's at the
// server's) interpolates between the samples around its time, as Prometheus does, and
// is not read as the latest sample alone.
func TestRequestLookbackDelta(t *testing.T) {
	svc := newService(t, "vllm", 1, "x 1\n")
	p := svc.Pods()[0]
	base := startServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}, MaxAge: time.Nanosecond})
	scrapedAt := func() int64 { // a query scrapes (MaxAge): the sample's time, in ms
		t.Helper()
		_, r := query(t, base, "timestamp(x)")
		v := vector(t, r)
		if len(v) != 1 {
			t.Fatalf("timestamp(x): %s", r.Data)
		}
		s, err := strconv.ParseFloat(v[0].Value[1].(string), 64)
		if err != nil {
			t.Fatal(err)
		}
		return int64(math.Round(s * 1000))
	}
	t1 := scrapedAt()
	p.SetBody("x 3\n")
	t2 := scrapedAt()
	if t2 <= t1 {
		t.Fatalf("second scrape at %d, not after the first at %d", t2, t1)
	}
	mid := time.UnixMilli(t1 + (t2-t1)/2)
	code, r := call(t, http.MethodGet, base, "/api/v1/query", url.Values{
		"query": {"x smoothed"}, "time": {formatTime(mid)}, "lookback_delta": {"150s"},
	})
	if code != http.StatusOK {
		t.Fatalf("got %d %q", code, r.Error)
	}
	v := vector(t, r)
	if len(v) != 1 {
		t.Fatalf("x smoothed between two samples, lookback_delta 150s: %s, want one sample", r.Data)
	}
	if got, _ := strconv.ParseFloat(v[0].Value[1].(string), 64); got <= 1 || got >= 3 {
		t.Errorf("x smoothed between 1 and 3: %v, want a value between them", got)
	}
}
