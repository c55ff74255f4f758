package serve_test

import (
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/podscrape/podscrape/podscrapetest"
	"github.com/podscrape/podscrape/serve"
)

// TestMaxAgeReadsTheClientsNowAsNow: KEDA asks with time set to its clock's now, to the
// second (RFC 3339), prometheus-adapter and client_golang to the millisecond; either is
// before the scrape the request waits for under MaxAge, and evaluated as asked the
// answer would miss that scrape. A time further back is evaluated as asked.
func TestMaxAgeReadsTheClientsNowAsNow(t *testing.T) {
	svc := newService(t, "vllm", 1, waiting)
	p := svc.Pods()[0]
	asked := func(base, at string) (int, apiResponse) {
		return call(t, http.MethodGet, base, "/api/v1/query", url.Values{"query": {"sum(vllm:num_requests_waiting)"}, "time": {at}})
	}

	// Every query scrapes: KEDA's now, to the second, sees the scrape taken for it.
	base := startServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}, MaxAge: time.Nanosecond})
	p.SetBody("# TYPE vllm:num_requests_waiting gauge\nvllm:num_requests_waiting 7\n")
	if code, r := asked(base, time.Now().UTC().Format(time.RFC3339)); code != http.StatusOK || len(vector(t, r)) != 1 || vector(t, r)[0].Value[1] != "7" {
		t.Errorf("KEDA's time=now under MaxAge: got %d %s, want the fresh scrape's 7", code, r.Data)
	}
	// An hour ago is before the history: TestInstantQueryBeforeTheHistory.

	// A time to the millisecond, within MaxAge but before the server's first scrape:
	// read as now, it sees that scrape.
	at := formatTime(time.Now().Add(-1500 * time.Millisecond))
	base = startServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}, MaxAge: 4 * time.Minute})
	if code, r := asked(base, at); code != http.StatusOK || len(vector(t, r)) != 1 || vector(t, r)[0].Value[1] != "7" {
		t.Errorf("time=now to the millisecond, 1.5 s back, under a MaxAge of 4 minutes: got %d %s, want the latest scrape's 7", code, r.Data)
	}
}

// TestQueryTimeoutBoundsTheScrapeMaxAgeWaitsFor: a pod that hangs holds the scrape a
// query waits for until the pod's scrape timeout; the query's timeout bounds the wait,
// and the answer comes from the latest scrape, with a warning that says so.
func TestQueryTimeoutBoundsTheScrapeMaxAgeWaitsFor(t *testing.T) {
	svc := newService(t, "vllm", 2, waiting)
	base := startServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}, MaxAge: time.Nanosecond})
	hung := make(chan struct{})
	t.Cleanup(func() { close(hung) })
	svc.Pods()[1].SetHandler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-hung }))
	code, r := call(t, http.MethodGet, base, "/api/v1/query", url.Values{"query": {"sum(vllm:num_requests_waiting)"}, "timeout": {"0.5"}})
	if v := vector(t, r); code != http.StatusOK || len(v) != 1 || v[0].Value[1] != "6" {
		t.Fatalf("got %d %q %s, want 200 and the latest scrape's 6", code, r.Error, r.Data)
	}
	want := "service " + svc.Namespace + "/" + svc.Name + ": the scrape --max-age asked for did not finish within the query's timeout of 500ms, less the 125ms kept to answer: answered from its scrape at "
	if len(r.Warnings) != 1 || !strings.HasPrefix(r.Warnings[0], want) {
		t.Errorf("warnings %q, want one starting %q", r.Warnings, want)
	}
}

// TestBadParametersScrapeNothing: a request Prometheus would refuse is refused before
// the scrape MaxAge would take for it, and a timeout must be positive, as Prometheus
// checks it.
func TestBadParametersScrapeNothing(t *testing.T) {
	svc := newService(t, "vllm", 1, waiting)
	p := svc.Pods()[0]
	base := startServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}, MaxAge: time.Nanosecond})
	before := p.Requests()
	for _, tc := range []struct {
		params url.Values
		want   string
	}{
		{url.Values{"time": {"yesterday"}}, `invalid parameter "time": invalid time value for 'time': cannot parse "yesterday" to a valid timestamp`},
		{url.Values{"limit": {"-1"}}, `invalid parameter "limit": limit must be non-negative`},
		{url.Values{"timeout": {"0"}}, `invalid parameter "timeout": timeout must be positive, got 0s`},
		{url.Values{"timeout": {"-1"}}, `invalid parameter "timeout": timeout must be positive, got -1s`},
		{url.Values{"timeout": {"-1s"}}, `invalid parameter "timeout": cannot parse "-1s" to a valid duration`},
	} {
		tc.params.Set("query", "sum(vllm:num_requests_waiting)")
		code, r := call(t, http.MethodGet, base, "/api/v1/query", tc.params)
		if code != http.StatusBadRequest || r.ErrorType != "bad_data" || r.Error != tc.want {
			t.Errorf("%v: got %d %s %q, want 400 bad_data %q", tc.params, code, r.ErrorType, r.Error, tc.want)
		}
	}
	if got := p.Requests() - before; got != 0 {
		t.Errorf("bad requests made %d scrapes, want none", got)
	}
}

// TestRangeAnswersAreTheirOwn: the engine takes a result's slices back when its query is
// closed, for the next query to fill; an answer written after that could carry another
// query's values. Two range queries of different values, asked concurrently, must each
// get only their own.
func TestRangeAnswersAreTheirOwn(t *testing.T) {
	svc := newService(t, "vllm", 1, waiting)
	base := startServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}})
	now := time.Now()
	ask := func(expr string) string {
		return base + "/api/v1/query_range?" + url.Values{"query": {expr}, "step": {"0.01"},
			"start": {formatTime(now)}, "end": {formatTime(now.Add(100 * time.Second))}}.Encode()
	}
	exprs := [2]string{"sum(vllm:num_requests_waiting)", "sum(vllm:num_requests_waiting) * 2"}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		mixd int
	)
	for g := range 4 {
		wg.Go(func() {
			own, other := exprs[g%2], `,"6"]`
			if g%2 == 1 {
				other = `,"3"]`
			}
			for range 40 {
				resp, err := http.Get(ask(own))
				if err != nil {
					t.Error(err)
					return
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || resp.StatusCode != http.StatusOK {
					t.Errorf("%s: %d %v", own, resp.StatusCode, err)
					return
				}
				if strings.Contains(string(body), other) {
					mu.Lock()
					mixd++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if mixd > 0 {
		t.Errorf("%d of 160 range answers carried the other query's values", mixd)
	}
}

// TestEstimateOverTooLittleHistory: a rate whose window reaches before the history is
// computed over the span held, with a warning; over a single scrape it estimates nothing,
// and the empty answer (KEDA's 0) is refused with 422 unless partial windows are allowed.
func TestEstimateOverTooLittleHistory(t *testing.T) {
	const expr = "sum(rate(reqs_total[10m]))"
	svc := newService(t, "vllm", 1, "# TYPE reqs counter\nreqs_total 10\n")
	// A window is partial when it starts more than an interval before the first scrape;
	// at a minute's interval, only the scrape at the start is taken during the test.
	cfg := serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}, Interval: time.Minute}
	code, r := query(t, startServer(t, cfg), expr)
	if code != http.StatusUnprocessableEntity || r.ErrorType != "execution" ||
		!strings.Contains(r.Error, "rate(reqs_total[10m])") || !strings.Contains(r.Error, "one scrape") {
		t.Errorf("rate over one scrape: got %d %q %q, want 422 execution naming the window", code, r.ErrorType, r.Error)
	}
	// Whatever else answers: or vector(0) (a KEDA habit) would answer 0, "no load", from
	// a rate that estimated nothing.
	code, r = query(t, startServer(t, cfg), expr+" or vector(0)")
	if code != http.StatusUnprocessableEntity || !strings.Contains(r.Error, "rate(reqs_total[10m])") {
		t.Errorf("rate over one scrape or vector(0): got %d %q %s, want 422 naming the window", code, r.Error, r.Data)
	}

	// A rate whose window an offset moves, or evaluated in a subquery: every window of
	// it holds that scrape or none.
	for _, e := range []string{"sum(rate(reqs_total[1m] offset 1m)) or vector(0)", "max_over_time(rate(reqs_total[1m])[5m:1m]) or vector(0)"} {
		code, r = query(t, startServer(t, cfg), e)
		if code != http.StatusUnprocessableEntity || !strings.Contains(r.Error, "one scrape") {
			t.Errorf("%s over one scrape: got %d %q %s, want 422 naming the window", e, code, r.Error, r.Data)
		}
	}

	cfg.AllowPartialWindows = true
	code, r = query(t, startServer(t, cfg), expr)
	if code != http.StatusOK || string(r.Data) != `{"resultType":"vector","result":[]}` || len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "rate(reqs_total[10m])") {
		t.Errorf("rate over one scrape, partial windows allowed: got %d %s warnings %q, want 200, no value, the window's warning", code, r.Data, r.Warnings)
	}

	// Two scrapes: the rate over the span held, with the warning.
	cfg.AllowPartialWindows, cfg.MaxAge = false, time.Nanosecond
	base := startServer(t, cfg)
	svc.Pods()[0].SetBody("# TYPE reqs counter\nreqs_total 20\n")
	code, r = query(t, base, expr)
	if v := vector(t, r); code != http.StatusOK || len(v) != 1 || len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "rate(reqs_total[10m])") {
		t.Errorf("rate over two scrapes: got %d %q %s warnings %q, want 200, a value, the window's warning", code, r.Error, r.Data, r.Warnings)
	}
	// A window a minute back holds neither of them.
	code, r = query(t, base, "sum(rate(reqs_total[1m] offset 1m)) or vector(0)")
	if code != http.StatusUnprocessableEntity || !strings.Contains(r.Error, "rate(reqs_total[1m] offset 1m)") {
		t.Errorf("rate a minute before two scrapes, or vector(0): got %d %q %s, want 422 naming the window", code, r.Error, r.Data)
	}
	// A range query whose later steps' windows hold both: those steps answer, and the
	// steps before the history are the warning's, as for a rate without offset.
	now := time.Now()
	code, r = call(t, http.MethodGet, base, "/api/v1/query_range", url.Values{
		"query": {"sum(rate(reqs_total[1m] offset 1m)) or vector(0)"},
		"start": {formatTime(now.Add(-time.Hour))}, "end": {formatTime(now.Add(time.Minute + time.Second))}, "step": {"15"},
	})
	if code != http.StatusOK || len(r.Warnings) == 0 {
		t.Errorf("query_range of a rate a minute back, ending a minute after two scrapes: got %d %q warnings %q, want 200 with the window's warning", code, r.Error, r.Warnings)
	}
}

// TestMaxAgeScrapesOnlyTheServicesTheQueryReads: two Services in one namespace (vLLM and
// the EPP, as docs/serve.md configures them), one EPP pod hung. A query of vLLM's metric
// with no job matcher (prometheus-adapter's: namespace and pod only) reads nothing of the
// EPP: it must not scrape the EPP's pods, nor wait the pod timeout for the hung one (past
// KEDA's 3 s, every poll failed although vLLM's pods were all healthy).
func TestMaxAgeScrapesOnlyTheServicesTheQueryReads(t *testing.T) {
	vllm := newService(t, "vllm", 1, waiting)
	epp, err := env.NewService(t.Context(), podscrapetest.ServiceOptions{Namespace: vllm.Namespace, Name: "epp", Pods: 2, Body: "# TYPE epp_queue gauge\nepp_queue 1\n"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = epp.Close() })
	eppCfg := serviceConfig(epp)
	eppCfg.Source.ScrapeTimeout = 10 * time.Second // a hung pod holds the EPP's scrape for 10 s
	base := startServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(vllm), eppCfg}, MaxAge: time.Nanosecond})
	hung := make(chan struct{})
	t.Cleanup(func() { close(hung) })
	hungPod, other := epp.Pods()[0], epp.Pods()[1]
	hungPod.SetHandler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-hung }))
	before := other.Requests()

	start := time.Now()
	code, r := query(t, base, `sum(vllm:num_requests_waiting{namespace="`+vllm.Namespace+`"})`)
	if v := vector(t, r); code != http.StatusOK || len(v) != 1 || v[0].Value[1] != "3" || len(r.Warnings) != 0 {
		t.Errorf("vLLM's query: got %d %q %s warnings %q, want 200 and 3, no warning", code, r.Error, r.Data, r.Warnings)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("vLLM's query took %s: it waited for the EPP's hung pod", took)
	}
	if got := other.Requests() - before; got != 0 {
		t.Errorf("a query of vLLM's metric scraped the EPP's pods (%d requests), want none: it reads nothing of the EPP", got)
	}
	// vLLM's pod is scraped for it: the answer is fresh.
	vllm.Pods()[0].SetBody("# TYPE vllm:num_requests_waiting gauge\nvllm:num_requests_waiting 8\n")
	if code, r := query(t, base, "sum(vllm:num_requests_waiting)"); code != http.StatusOK || len(vector(t, r)) != 1 || vector(t, r)[0].Value[1] != "8" {
		t.Errorf("vLLM's query after its pod changed: got %d %q %s, want the fresh 8", code, r.Error, r.Data)
	}
}

// TestInstantQueryBeforeTheHistory: an instant query at a time before the history's first
// scrape (a past time, a client's clock behind serve's after a restart) finds no sample
// of the Service there, and its empty answer would read as no load: 422 naming the
// selector, the time and the span held, as "x offset 1h" at now (the same samples) is,
// unless partial windows are allowed. A metric no Service holds is answered empty at
// any time, as Prometheus answers it; a time within the history is evaluated as asked.
func TestInstantQueryBeforeTheHistory(t *testing.T) {
	svc := newService(t, "vllm", 1, waiting)
	cfg := serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}, MaxAge: time.Nanosecond}
	base := startServer(t, cfg)
	at := func(base, expr string, t0 time.Time) (int, apiResponse) {
		return call(t, http.MethodGet, base, "/api/v1/query", url.Values{"query": {expr}, "time": {formatTime(t0)}})
	}
	hourAgo := time.Now().Add(-time.Hour)
	for _, expr := range []string{"sum(vllm:num_requests_waiting)", "sum(vllm:num_requests_waiting) or on() vector(0)"} {
		code, r := at(base, expr, hourAgo)
		if code != http.StatusUnprocessableEntity || r.ErrorType != "execution" ||
			!strings.Contains(r.Error, "vllm:num_requests_waiting") || !strings.Contains(r.Error, svc.Namespace+"/vllm") || !strings.Contains(r.Error, "only since") {
			t.Errorf("%s an hour before the history: got %d %q %q %s, want 422 execution naming the selector, the Service and the span held", expr, code, r.ErrorType, r.Error, r.Data)
		}
	}
	if code, r := at(base, "sum(nope)", hourAgo); code != http.StatusOK || string(r.Data) != `{"resultType":"vector","result":[]}` {
		t.Errorf("a metric no Service holds, an hour ago: got %d %q %s, want 200 and the empty answer", code, r.Error, r.Data)
	}
	if code, r := at(base, "vector(1)", hourAgo); code != http.StatusOK {
		t.Errorf("vector(1) an hour ago: got %d %q, want 200", code, r.Error)
	}
	// A range query's steps before the history are gaps, as in Prometheus (Grafana asks
	// for more than the retention).
	code, r := call(t, http.MethodGet, base, "/api/v1/query_range", url.Values{"query": {"sum(vllm:num_requests_waiting)"},
		"start": {formatTime(hourAgo)}, "end": {formatTime(time.Now())}, "step": {"60"}})
	if code != http.StatusOK {
		t.Errorf("a range query from an hour ago: got %d %q, want 200", code, r.Error)
	}

	// Within the history: as asked.
	first := time.Now()
	query(t, base, "up") // a second scrape (MaxAge): first is within the history
	if code, r := at(base, "sum(vllm:num_requests_waiting)", first); code != http.StatusOK || len(vector(t, r)) != 1 {
		t.Errorf("a time within the history: got %d %q %s, want 200 and the value", code, r.Error, r.Data)
	}

	cfg.AllowPartialWindows = true
	code, r = at(startServer(t, cfg), "sum(vllm:num_requests_waiting)", hourAgo)
	if code != http.StatusOK || len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "only since") {
		t.Errorf("before the history, partial windows allowed: got %d %q warnings %q, want 200 with the warning", code, r.Error, r.Warnings)
	}
}

// TestAPollerAtTheIntervalIsAnsweredFromTheLoop: an autoscaler polls on a period of its
// own, here the interval, at a phase more than MaxAge after the loop's scrapes. Its
// first poll scrapes and waits for the pods; the loop then scrapes MaxAge/2 before the
// poll's next turn, so the next poll is answered at once from that scrape. Before, the
// loop kept its phase, skipped the tick that came just after the poll's scrape, and
// every poll scraped and waited for the pods (the benchmark's p99 went to 4x
// Prometheus').
func TestAPollerAtTheIntervalIsAnsweredFromTheLoop(t *testing.T) {
	const interval, maxAge = 3 * time.Second, 1500 * time.Millisecond
	svc := newService(t, "vllm", 1, waiting)
	scrapedSince := recordScrapes(svc.Pods()[0], waiting).since
	url := startServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}, Interval: interval, MaxAge: maxAge})
	poll := func(what string) {
		t.Helper()
		if code, r := query(t, url, "sum(vllm:num_requests_waiting)"); code != http.StatusOK || len(vector(t, r)) != 1 {
			t.Fatalf("%s: got %d %q %s", what, code, r.Error, r.Data)
		}
	}
	// The poller's phase: 2 s after the loop's latest scrape, past MaxAge and before its
	// next. The schedule is in wall time, so a poll's time is the test's input: it waits
	// for it, and tries the next interval if the machine held it past that window.
	var demand time.Time
	for attempt := 0; demand.IsZero(); attempt++ {
		if attempt == 5 {
			t.Fatal("no poll landed between MaxAge and the loop's next scrape in 5 intervals")
		}
		all := scrapedSince(time.Time{})
		last := all[len(all)-1]
		at := last.Add(2 * time.Second)
		time.Sleep(time.Until(at))
		if time.Since(last) > interval-300*time.Millisecond {
			continue
		}
		poll("first poll")
		if s := scrapedSince(at); len(s) > 0 {
			demand = s[0]
		}
	}
	next := demand.Add(interval)
	time.Sleep(time.Until(next))
	sent := time.Now()
	poll("second poll")
	between := scrapedSince(demand)
	if len(between) == 0 || !between[0].Before(next) {
		t.Fatalf("scrapes after the first poll's, at %v from it: want the loop's, before the next poll at %s", offsets(between, demand), interval)
	}
	if age := sent.Sub(between[0]); age < maxAge && len(between) != 1 {
		t.Errorf("the second poll, %s after the loop's scrape (under MaxAge, %s), scraped again: scrapes at %v from the first poll's", age, maxAge, offsets(between, demand))
	}
	if lead := next.Sub(between[0]); lead > maxAge {
		t.Errorf("the loop scraped %s before the next poll, more than MaxAge (%s): the poll would scrape again", lead, maxAge)
	}
}

// TestASlowScrapeIsStillAnsweredFromTheLoop: as TestAPollerAtTheIntervalIsAnsweredFromTheLoop,
// of a Service whose scrape lasts more than half of MaxAge (its pods answer slowly, or
// it has many). The loop's scrape after the poll's must start early enough to end before
// the poll's next turn and late enough to be at most MaxAge old then: an interval after
// the poll's, less half of MaxAge plus half of the scrape's length (here 3/4 of MaxAge,
// the most, as the scrape lasts 5/8 of it). Before, the lead left
// out the scrape's length: the loop's scrape started MaxAge/2 before the next poll and
// was still under way when it came, and every poll waited for the rest of it.
func TestASlowScrapeIsStillAnsweredFromTheLoop(t *testing.T) {
	const interval, maxAge, slow = 8 * time.Second, 4 * time.Second, 2500 * time.Millisecond
	svc := newService(t, "vllm", 1, waiting)
	log := recordScrapesAfter(svc.Pods()[0], waiting, slow)
	url := startServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}, Interval: interval, MaxAge: maxAge})
	demand := pollPastMaxAge(t, url, log, interval)
	time.Sleep(time.Until(demand.Add(interval))) // the poller's next turn
	answeredFromTheLoop(t, "the second poll", url, log, demand, maxAge)
}

// TestAPollThatWaitsForTheLoopsScrapeRephasesIt: a poll that comes while the loop's
// scrape is under way (the Service's scrape grew longer than the lead, as its pods got
// slower or more) waits for the rest of it. That poll re-phases the loop as a scrape of
// its own would, on the scrape's new length, so the next poll is answered at once. Before,
// only a query's own scrape re-phased the loop, and every poll waited for the rest of the
// loop's scrape until the poller's phase drifted out of it.
func TestAPollThatWaitsForTheLoopsScrapeRephasesIt(t *testing.T) {
	const interval, maxAge, slow = 8 * time.Second, 4 * time.Second, 2500 * time.Millisecond
	svc := newService(t, "vllm", 1, waiting)
	log := recordScrapesAfter(svc.Pods()[0], waiting, 0)
	url := startServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}, Interval: interval, MaxAge: maxAge})
	demand := pollPastMaxAge(t, url, log, interval) // a quick scrape: a lead of MaxAge/2
	log.setLatency(slow)
	time.Sleep(time.Until(demand.Add(interval)))
	sent := time.Now()
	if code, r := query(t, url, "sum(vllm:num_requests_waiting)"); code != http.StatusOK || len(vector(t, r)) != 1 {
		t.Fatalf("second poll: got %d %q %s", code, r.Error, r.Data)
	}
	if between := log.since(demand); len(between) != 1 || !between[0].Before(sent) {
		t.Fatalf("scrapes after the first poll's, at %v from it: want one, the loop's, under way when the second poll came at %s", offsets(between, demand), sent.Sub(demand))
	}
	time.Sleep(time.Until(sent.Add(interval)))
	answeredFromTheLoop(t, "the third poll", url, log, sent, maxAge)
}

// pollPastMaxAge polls url, as a client polling every interval would, at a phase 4.5 s
// after the loop's latest scrape (past a MaxAge of 4 s, the poll's scrape ending before
// the loop's next), and returns when the pod saw that poll's scrape. The poll's time is
// the test's input (the schedule is in wall time): it waits for it, and tries the next
// interval if the machine held it past that window.
func pollPastMaxAge(t *testing.T, url string, log *scrapeLog, interval time.Duration) time.Time {
	t.Helper()
	for range 5 {
		all := log.since(time.Time{})
		last := all[len(all)-1]
		at := last.Add(4500 * time.Millisecond)
		time.Sleep(time.Until(at))
		if time.Since(last) > interval-log.latency()-300*time.Millisecond || len(log.since(last)) > 0 {
			continue
		}
		if code, r := query(t, url, "sum(vllm:num_requests_waiting)"); code != http.StatusOK || len(vector(t, r)) != 1 {
			t.Fatalf("first poll: got %d %q %s", code, r.Error, r.Data)
		}
		if s := log.since(at); len(s) > 0 {
			return s[0]
		}
	}
	t.Fatal("no poll landed between MaxAge and the loop's next scrape in 5 intervals")
	return time.Time{}
}

// answeredFromTheLoop polls url now and checks that the poll was answered from the
// loop's one scrape since from, ended before the poll was sent, and at most maxAge old.
func answeredFromTheLoop(t *testing.T, what, url string, log *scrapeLog, from time.Time, maxAge time.Duration) {
	t.Helper()
	sent := time.Now()
	code, r := query(t, url, "timestamp(vllm:num_requests_waiting)")
	took := time.Since(sent)
	v := vector(t, r)
	if code != http.StatusOK || len(v) != 1 {
		t.Fatalf("%s: got %d %q %s", what, code, r.Error, r.Data)
	}
	between := log.since(from)
	if len(between) != 1 || !between[0].Before(sent) {
		t.Fatalf("%s: scrapes since %s before it, at %v from then: want one, the loop's, before it", what, sent.Sub(from), offsets(between, from))
	}
	if ended, ok := log.answered(between[0]); !ok || !ended.Before(sent) {
		t.Errorf("%s: the loop's scrape started %s before it and lasted %s: the poll waited %s for the rest of it", what, sent.Sub(between[0]), log.latency(), took)
	}
	ts, err := strconv.ParseFloat(v[0].Value[1].(string), 64)
	if err != nil {
		t.Fatal(err)
	}
	if age := sent.Sub(time.UnixMilli(int64(ts * 1000))); age > maxAge+time.Millisecond {
		t.Errorf("%s: its sample was scraped %s before it was sent, more than MaxAge (%s)", what, age, maxAge)
	}
}

// scrapeLog records when a pod was scraped, and when it answered.
type scrapeLog struct {
	mu      sync.Mutex
	times   []time.Time
	answers map[time.Time]time.Time // by the scrape's time
	delay   atomic.Int64            // the pod's latency, in nanoseconds
}

// recordScrapes makes p answer body and records the time of each scrape of it.
func recordScrapes(p *podscrapetest.Pod, body string) *scrapeLog {
	return recordScrapesAfter(p, body, 0)
}

// recordScrapesAfter is recordScrapes of a pod that answers each scrape latency after it
// came (or not, when the scraper gives up first; setLatency changes it), and records
// when it answered.
func recordScrapesAfter(p *podscrapetest.Pod, body string, latency time.Duration) *scrapeLog {
	l := &scrapeLog{answers: map[time.Time]time.Time{}}
	l.setLatency(latency)
	p.SetHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		came := time.Now()
		l.mu.Lock()
		l.times = append(l.times, came)
		l.mu.Unlock()
		if d := l.latency(); d > 0 {
			select {
			case <-time.After(d): // the pod's latency
			case <-r.Context().Done():
				return
			}
		}
		_, _ = io.WriteString(w, body)
		l.mu.Lock()
		l.answers[came] = time.Now()
		l.mu.Unlock()
	}))
	return l
}

// setLatency makes the pod answer the scrapes that come from now on d after they come.
func (l *scrapeLog) setLatency(d time.Duration) { l.delay.Store(int64(d)) }

// latency returns the pod's latency.
func (l *scrapeLog) latency() time.Duration { return time.Duration(l.delay.Load()) }

// answered returns when the pod answered the scrape that came at came, if it did.
func (l *scrapeLog) answered(came time.Time) (time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	t, ok := l.answers[came]
	return t, ok
}

// since returns the times of the scrapes after t, oldest first.
func (l *scrapeLog) since(t time.Time) []time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []time.Time
	for _, s := range l.times {
		if s.After(t) {
			out = append(out, s)
		}
	}
	return out
}

// offsets returns each of ts as a duration after from.
func offsets(ts []time.Time, from time.Time) []time.Duration {
	out := make([]time.Duration, len(ts))
	for i, t := range ts {
		out[i] = t.Sub(from)
	}
	return out
}

// TestRangeQueriesOfThePastScrapeNothing: under MaxAge, a query scrapes first so that its
// answer includes the scrape. A range query ending when its request arrived (Grafana's:
// end is the browser's now) cannot include it: the scrape's samples are later than every
// step. Scraping for it cost the pods a scrape per dashboard refresh, made each panel
// wait for the pods (a hung pod's timeout), and moved the interval's scrapes off the
// autoscaler's polls. A range query whose end is later than its arrival still scrapes,
// and so does every instant query, one at a past time evaluated as asked included: it
// reads from that scrape whether the pods answer (PrometheusSource's time, to the
// millisecond, is past a MaxAge of 1ns: TestPrometheusSourceOnServeAnswersAsThePodSource).
func TestRangeQueriesOfThePastScrapeNothing(t *testing.T) {
	svc := newService(t, "vllm", 1, waiting)
	p := svc.Pods()[0]
	base := startServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}, MaxAge: time.Nanosecond})
	query(t, base, "up") // a second scrape: the times below are within the history
	past := time.Now().Add(-time.Millisecond)
	if past.Nanosecond()/int(time.Millisecond) == 0 {
		past = past.Add(-time.Millisecond) // written to the millisecond, not a second's now
	}
	before := p.Requests()
	code, r := call(t, http.MethodGet, base, "/api/v1/query_range", url.Values{"query": {"sum(vllm:num_requests_waiting)"},
		"start": {formatTime(past.Add(-time.Minute))}, "end": {formatTime(past)}, "step": {"15"}})
	if code != http.StatusOK {
		t.Fatalf("range query ending now: got %d %q", code, r.Error)
	}
	if got := p.Requests() - before; got != 0 {
		t.Errorf("a range query ending before its request arrived made %d scrapes, want none: the answer cannot include them", got)
	}
	before = p.Requests()
	code, r = call(t, http.MethodGet, base, "/api/v1/query", url.Values{"query": {"sum(vllm:num_requests_waiting)"}, "time": {formatTime(past)}})
	if code != http.StatusOK || len(vector(t, r)) != 1 {
		t.Fatalf("instant query at a past time: got %d %q %s", code, r.Error, r.Data)
	}
	if got := p.Requests() - before; got != 1 {
		t.Errorf("an instant query at a past time (evaluated as asked) made %d scrapes, want 1", got)
	}

	// A range query reaching past its arrival, and an instant query at now, scrape.
	before = p.Requests()
	now := time.Now()
	code, r = call(t, http.MethodGet, base, "/api/v1/query_range", url.Values{"query": {"sum(vllm:num_requests_waiting)"},
		"start": {formatTime(now.Add(-time.Minute))}, "end": {formatTime(now.Add(time.Minute))}, "step": {"15"}})
	if got := p.Requests() - before; code != http.StatusOK || got != 1 {
		t.Errorf("a range query ending a minute ahead: got %d %q and %d scrapes, want 200 and 1", code, r.Error, got)
	}
	before = p.Requests()
	if code, r := query(t, base, "sum(vllm:num_requests_waiting)"); code != http.StatusOK || p.Requests()-before != 1 {
		t.Errorf("an instant query at now: got %d %q and %d scrapes, want 200 and 1", code, r.Error, p.Requests()-before)
	}
}

// TestTheLoopJoinsAQuerysScrapeInFlight: a query's scrape under MaxAge re-phases the
// loop when it ends, so the loop's scrape falling due while it is in flight has nothing
// to add: it joins it. A slow scrape (a hung pod holds one for the pod timeout, 5 s of a
// 15 s interval by default) outlasts the quarter interval in which a scrape stands in for
// the loop's; the loop queued its own behind the query's and scraped the pods again the
// moment it ended, and the hung pod held that one too.
func TestTheLoopJoinsAQuerysScrapeInFlight(t *testing.T) {
	const interval, slow = 3 * time.Second, 1200 * time.Millisecond // a scrape outlasts a quarter interval
	svc := newService(t, "vllm", 1, waiting)
	p := svc.Pods()[0]
	var (
		mu      sync.Mutex
		scrapes []time.Time
		hold    bool
	)
	release := make(chan struct{})
	p.SetHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		scrapes = append(scrapes, time.Now())
		held := hold
		mu.Unlock()
		time.Sleep(slow) // the pod's latency
		if held {
			select {
			case <-release:
			case <-r.Context().Done():
				return
			}
		}
		_, _ = io.WriteString(w, waiting)
	}))
	srv, base := runReadyServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}, Interval: interval, MaxAge: time.Nanosecond})

	// A query's scrape re-phases the loop: its next scrape is an interval after it.
	if code, r := query(t, base, "sum(vllm:num_requests_waiting)"); code != http.StatusOK {
		t.Fatalf("first query: %d %q", code, r.Error)
	}
	// The next query's scrape starts as the first ends, and the pod holds it until the
	// loop's scrape falls due, an interval after the first's start: more than a quarter
	// interval after this one's.
	mu.Lock()
	hold = true
	from := len(scrapes)
	mu.Unlock()
	answered := make(chan struct{})
	go func() {
		defer close(answered)
		if code, r := query(t, base, "sum(vllm:num_requests_waiting)"); code != http.StatusOK {
			t.Errorf("second query: %d %q", code, r.Error)
		}
	}()
	deadline := time.Now().Add(4 * interval)
	for {
		running, next := serve.ScrapesWaiting(srv, 0)
		if running+next == 2 {
			break // the query and the loop
		}
		if time.Now().After(deadline) {
			close(release)
			t.Fatalf("the loop's scrape never fell due during the query's (waiters %d, %d)", running, next)
		}
		time.Sleep(time.Millisecond) // polling the scrape's waiters
	}
	close(release)
	<-answered
	for {
		if running, next := serve.ScrapesWaiting(srv, 0); running+next == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the scrapes never ended")
		}
		time.Sleep(time.Millisecond) // polling the scrape's waiters
	}
	mu.Lock()
	defer mu.Unlock()
	if got := scrapes[from:]; len(got) != 1 {
		t.Errorf("the query's scrape and the loop's falling due during it made %d scrapes, at %v after the query's: want 1, the loop's joining it", len(got), offsets(got, got[0]))
	}
}

// TestAScrapeOutlastingTheIntervalIsFollowedAtOnce: a hung pod holds each scrape of its
// Service for the pod timeout, which may be the interval itself (--interval 5s keeps the
// default --timeout 5s). A scrape that outlasts the interval is followed by the next at
// once, as Prometheus' scrape loop and a time.Ticker do (the one tick fired meanwhile is
// kept, the others dropped), so the Service's healthy pods are still scraped about every
// interval. The loop skipped the tick instead, and scraped them every other interval:
// answers up to three intervals old.
func TestAScrapeOutlastingTheIntervalIsFollowedAtOnce(t *testing.T) {
	const interval = time.Second // the pod timeout too
	svc := newService(t, "vllm", 2, waiting)
	svc.Pods()[1].SetHandler(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // answers nothing until the scraper gives up
	}))
	log := recordScrapes(svc.Pods()[0], waiting)
	runServer(t, t.Context(), serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}, Interval: interval})
	const n = 6
	deadline := time.Now().Add(4 * n * interval)
	var scrapes []time.Time
	for {
		if scrapes = log.since(time.Time{}); len(scrapes) >= n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d scrapes of the healthy pod in %s, want %d", len(scrapes), 4*n*interval, n)
		}
		time.Sleep(10 * time.Millisecond) // polling the pod's scrapes
	}
	gaps := make([]time.Duration, n-1)
	for i := range gaps {
		gaps[i] = scrapes[i+1].Sub(scrapes[i]).Round(time.Millisecond)
	}
	if slices.Max(gaps) > interval*3/2 {
		t.Errorf("scrapes of a Service whose hung pod holds each for the interval came %v apart, want each about an interval (the next at once after each)", gaps)
	}
}

// TestQueriesFarMoreOftenThanMaxAge: two clients querying without pause against a
// loop whose interval is twice MaxAge. Each answer holds a sample scraped no more than
// MaxAge before its request was sent (timestamp() of the pod's sample), and the pods
// are scraped no more often than once per MaxAge (a query's scrape after any other) and
// once per five eighths of an interval (the loop's after a query's): once per poll, not
// per query.
func TestQueriesFarMoreOftenThanMaxAge(t *testing.T) {
	const maxAge, interval = 200 * time.Millisecond, 400 * time.Millisecond
	svc := newService(t, "vllm", 1, waiting)
	log := recordScrapes(svc.Pods()[0], waiting)
	base := startServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}, Interval: interval, MaxAge: maxAge})
	from := time.Now()
	var queries atomic.Int64
	end := time.Now().Add(2 * time.Second)
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for time.Now().Before(end) {
				sent := time.Now()
				code, r := query(t, base, "timestamp(vllm:num_requests_waiting)")
				queries.Add(1)
				v := vector(t, r)
				if code != http.StatusOK || len(v) != 1 {
					t.Errorf("got %d %q %s", code, r.Error, r.Data)
					return
				}
				ts, err := strconv.ParseFloat(v[0].Value[1].(string), 64)
				if err != nil {
					t.Error(err)
					return
				}
				// The sample's time is to the millisecond.
				if age := sent.Sub(time.UnixMilli(int64(ts * 1000))); age > maxAge+time.Millisecond {
					t.Errorf("an answer's sample was scraped %s before its request was sent, more than MaxAge (%s)", age, maxAge)
					return
				}
			}
		})
	}
	wg.Wait()
	got := log.since(from)
	// A scrape per poll: at most one per MaxAge (a query's after any other) and the
	// loop's, one per five eighths of an interval. Counted, not timed between two: the
	// pod sees each scrape after its discovery (two API requests), which on a loaded
	// machine takes from milliseconds to a few hundred, so two scrapes that started
	// MaxAge apart can reach the pod 13 ms apart. A scrape per query would be thousands.
	window := time.Since(from)
	if most := int(window/maxAge) + int(window/(interval*5/8)) + 2; len(got) > most {
		t.Errorf("%d scrapes in %s, more than %d (one per MaxAge, one per loop tick): at %v", len(got), window.Round(time.Millisecond), most, offsets(got, got[0]))
	}
	t.Logf("%d queries, %d scrapes", queries.Load(), len(got))
}
