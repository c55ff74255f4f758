package serve_test

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/podscrape/podscrape/podscrapetest"
	"github.com/podscrape/podscrape/serve"
)

// failing answers every scrape 500.
var failing = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "boom", http.StatusInternalServerError) })

// TestOnlyFailedPodsHoldTheSeriesIsUnavailable: two models behind one Service, every pod
// of one model down: a query of that model's series would be empty (KEDA's 0), so it is
// 503 naming the pods, while the other model's query is answered, with the warning.
func TestOnlyFailedPodsHoldTheSeriesIsUnavailable(t *testing.T) {
	svc := newService(t, "vllm", 2, waiting)
	a, b := svc.Pods()[0], svc.Pods()[1]
	a.SetBody("# TYPE vllm:num_requests_waiting gauge\nvllm:num_requests_waiting{model_name=\"a\"} 9\n")
	b.SetBody("# TYPE vllm:num_requests_waiting gauge\nvllm:num_requests_waiting{model_name=\"b\"} 1\n")
	base := startServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}, MaxAge: time.Nanosecond})
	const ofA, ofB = `sum(vllm:num_requests_waiting{model_name="a"})`, `sum(vllm:num_requests_waiting{model_name="b"})`
	if code, r := query(t, base, ofA); code != http.StatusOK || len(vector(t, r)) != 1 || vector(t, r)[0].Value[1] != "9" {
		t.Fatalf("healthy: %d %s", code, r.Data)
	}

	a.SetHandler(failing)
	code, r := query(t, base, ofA)
	if code != http.StatusServiceUnavailable || r.ErrorType != "unavailable" ||
		!strings.Contains(r.Error, `every pod with series matching {model_name="a",__name__="vllm:num_requests_waiting"} failed its latest scrape`) ||
		!strings.Contains(r.Error, "pod "+a.Name+": ") {
		t.Errorf("model a's only pod down: got %d %q %q, want 503 unavailable naming the selector and pod %s", code, r.ErrorType, r.Error, a.Name)
	}
	code, r = query(t, base, ofB)
	if v := vector(t, r); code != http.StatusOK || len(v) != 1 || v[0].Value[1] != "1" || len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], a.Name) {
		t.Errorf("model b, whose pod is up: got %d %q %s warnings %q, want 200, 1, a warning naming pod %s", code, r.Error, r.Data, r.Warnings, a.Name)
	}
}

// TestOutageLongerThanTheRetentionIsUnavailable: every pod down for longer than the
// retention leaves the history without the Service's data; a query of it is still 503,
// not the empty answer of a Service it does not read.
func TestOutageLongerThanTheRetentionIsUnavailable(t *testing.T) {
	svc := newService(t, "vllm", 1, waiting)
	p := svc.Pods()[0]
	base := startServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}, MaxAge: time.Nanosecond, Retention: time.Second})
	const expr = "sum(vllm:num_requests_waiting)"
	if code, r := query(t, base, expr); code != http.StatusOK {
		t.Fatalf("healthy: got %d %q, want 200", code, r.Error)
	}
	p.SetHandler(failing)
	// Poll (each query scrapes, MaxAge) until the retention has dropped the series.
	deadline := time.Now().Add(30 * time.Second)
	for {
		query(t, base, "up") // scrapes: the history's time moves on
		code, r := call(t, http.MethodGet, base, "/api/v1/series", url.Values{"match[]": {"vllm:num_requests_waiting"}})
		if code == http.StatusOK && string(r.Data) == "[]" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the retention of 1s never dropped the series: %d %s", code, r.Data)
		}
		time.Sleep(50 * time.Millisecond) // polling the server's series, not waiting for time to pass
	}
	code, r := query(t, base, expr)
	if code != http.StatusServiceUnavailable || r.ErrorType != "unavailable" || !strings.Contains(r.Error, p.Name) {
		t.Errorf("every pod down for longer than the retention: got %d %q %q %s, want 503 unavailable naming the pod", code, r.ErrorType, r.Error, r.Data)
	}
	// A metric the Service never exposed is not its to answer for.
	if code, r := query(t, base, "sum(other_metric)"); code != http.StatusOK {
		t.Errorf("a metric the Service never exposed: got %d %q, want 200", code, r.Error)
	}
}

// TestNoReadyPodIsUnavailable: pods that all fail their readiness probe (an overloaded
// model server) leave no pod to scrape, which is not "no load": 503 naming the Service.
// A Service scaled to zero selects no pod: its answer is empty, as Prometheus' is.
func TestNoReadyPodIsUnavailable(t *testing.T) {
	svc := newService(t, "vllm", 1, waiting)
	p := svc.Pods()[0]
	base := startServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}, MaxAge: time.Nanosecond})
	const expr = "sum(vllm:num_requests_waiting)"
	if code, r := query(t, base, expr); code != http.StatusOK {
		t.Fatalf("healthy: got %d %q, want 200", code, r.Error)
	}
	if err := p.SetReady(t.Context(), false); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, r := query(t, base, expr)
		if code == http.StatusServiceUnavailable {
			if r.ErrorType != "unavailable" || !strings.Contains(r.Error, "no ready pod among the 1 pod it selects") || !strings.Contains(r.Error, svc.Namespace+"/"+svc.Name) {
				t.Errorf("no ready pod: got %q %q, want unavailable naming the Service and the pods it selects", r.ErrorType, r.Error)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the pod not Ready: still %d %s", code, r.Data)
		}
		time.Sleep(20 * time.Millisecond) // polling until serve's reader sees the pod not Ready
	}
	if code, r := query(t, base, "up"); code != http.StatusServiceUnavailable {
		t.Errorf("up with no ready pod: got %d %s, want 503: no pod to answer for", code, r.Data)
	}

	if err := p.Delete(t.Context()); err != nil {
		t.Fatal(err)
	}
	for {
		code, r := query(t, base, expr)
		if code == http.StatusOK {
			if string(r.Data) != `{"resultType":"vector","result":[]}` {
				t.Errorf("scaled to zero: got %s, want the empty answer", r.Data)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("scaled to zero: still %d %q", code, r.Error)
		}
		time.Sleep(20 * time.Millisecond) // polling until serve's reader sees the pod gone
	}
}

// TestAnotherModelsServiceDownIsNotRead: two vLLM Services in one namespace, one per
// model (llm-d runs one per InferencePool), the same metric names. Every pod of model b's
// Service down: a query of model a's series (no job matcher: KEDA's per-model query) reads
// nothing of b, whose history holds only model b's series, and is answered; a query that
// does match b's series is 503.
func TestAnotherModelsServiceDownIsNotRead(t *testing.T) {
	a, b := twoModelServices(t)
	base := startServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(a), serviceConfig(b)}, MaxAge: time.Nanosecond})
	const ofA = `sum(vllm:num_requests_waiting{model_name="a"})`
	if code, r := query(t, base, ofA); code != http.StatusOK || len(vector(t, r)) != 1 {
		t.Fatalf("healthy: %d %q %s", code, r.Error, r.Data)
	}

	b.Pods()[0].SetHandler(failing)
	for _, expr := range []string{`sum(vllm:num_requests_waiting{model_name="b"})`, `sum(vllm:num_requests_waiting)`} {
		if code, r := query(t, base, expr); code != http.StatusServiceUnavailable || !strings.Contains(r.Error, b.Namespace+"/vllm-b") {
			t.Errorf("%s, model b's Service down: got %d %q, want 503 naming it", expr, code, r.Error)
		}
	}
	code, r := query(t, base, ofA)
	if code != http.StatusOK || len(vector(t, r)) != 1 || vector(t, r)[0].Value[1] != "9" {
		t.Errorf("model a's query, model b's Service down: got %d %q %s, want 200 and 9", code, r.Error, r.Data)
	}
}

// TestAnotherModelsServiceDownPastTheRetentionIsNotRead: model b's Service down for
// longer than the retention (crash-looping, say) has nothing left in its history; what it
// held when it last gave data still decides, label matchers included: model a's query is
// answered, model b's and the metric's alone are 503.
func TestAnotherModelsServiceDownPastTheRetentionIsNotRead(t *testing.T) {
	a, b := twoModelServices(t)
	base := startServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(a), serviceConfig(b)}, MaxAge: time.Nanosecond, Retention: time.Second})
	b.Pods()[0].SetHandler(failing)
	// Poll (each query scrapes, MaxAge) until the retention has dropped b's series.
	deadline := time.Now().Add(30 * time.Second)
	for {
		query(t, base, "up") // scrapes both: the histories' time moves on
		code, r := call(t, http.MethodGet, base, "/api/v1/series", url.Values{"match[]": {`vllm:num_requests_waiting{model_name="b"}`}})
		if code == http.StatusOK && string(r.Data) == "[]" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the retention of 1s never dropped model b's series: %d %s", code, r.Data)
		}
		time.Sleep(50 * time.Millisecond) // polling the server's series, not waiting for time to pass
	}
	if code, r := query(t, base, `sum(vllm:num_requests_waiting{model_name="a"})`); code != http.StatusOK || len(vector(t, r)) != 1 || vector(t, r)[0].Value[1] != "9" {
		t.Errorf("model a's query, model b's Service down past the retention: got %d %q %s, want 200 and 9", code, r.Error, r.Data)
	}
	for _, expr := range []string{`sum(vllm:num_requests_waiting{model_name="b"})`, `sum(vllm:num_requests_waiting)`, `vllm:num_requests_waiting{pod="` + b.Pods()[0].Name + `"}`} {
		if code, r := query(t, base, expr); code != http.StatusServiceUnavailable || !strings.Contains(r.Error, b.Namespace+"/vllm-b") {
			t.Errorf("%s, model b's Service down past the retention: got %d %q, want 503 naming it", expr, code, r.Error)
		}
	}
}

// TestScrapeLandingDuringAQueryIsChecked: a scrape in which every pod failed lands
// between a query's availability check (all pods up) and the evaluation, which then
// reads the pods' staleness markers: the answer would be empty with no error (KEDA's 0).
// The availability of the scrape the evaluation read decides: 503.
func TestScrapeLandingDuringAQueryIsChecked(t *testing.T) {
	svc := newService(t, "vllm", 2, waiting)
	srv, base := runReadyServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}, Interval: 4 * time.Minute})

	var once sync.Once
	serve.SetBeforeExec(srv, func() {
		once.Do(func() {
			for _, p := range svc.Pods() {
				p.SetHandler(failing)
			}
			serve.ScrapeNow(t.Context(), srv)
		})
	})
	// Evaluated a little ahead (a client's clock): the scrape above lands before that
	// time, as an interval's scrape started before the request and ended during it does.
	at := formatTime(time.Now().Add(2 * time.Second))
	code, r := call(t, http.MethodGet, base, "/api/v1/query", url.Values{"query": {"sum(vllm:num_requests_waiting)"}, "time": {at}})
	if code != http.StatusServiceUnavailable || r.ErrorType != "unavailable" || !strings.Contains(r.Error, svc.Pods()[0].Name) {
		t.Errorf("every pod failed at a scrape landing during the query: got %d %q %q %s, want 503 unavailable naming the pods", code, r.ErrorType, r.Error, r.Data)
	}
}

// TestScrapeAppendedButNotYetStoredIsChecked: a scrape in which every pod failed has
// appended its staleness markers to the history but not yet stored its state when a
// query checks the states and evaluates: the evaluation reads the markers and answers
// empty, while the state it checked is the scrape before, every pod up. The query must
// not answer 200 [] (KEDA's 0): it waits for that scrape's state and answers 503 naming
// the pods. (Found by test/e2e TestSoakChurnWithAnOracle: `load` answered 200 [] with no
// warning during an outage, once in minutes of churn.)
func TestScrapeAppendedButNotYetStoredIsChecked(t *testing.T) {
	svc := newService(t, "vllm", 2, waiting)
	srv, base := runReadyServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}, Interval: 4 * time.Minute})
	if code, r := query(t, base, "sum(vllm:num_requests_waiting)"); code != http.StatusOK || len(vector(t, r)) != 1 {
		t.Fatalf("healthy: got %d %q %s", code, r.Error, r.Data)
	}
	for _, p := range svc.Pods() {
		p.SetHandler(failing)
	}
	appended, release, waits := make(chan struct{}), make(chan struct{}), make(chan struct{})
	var once sync.Once
	serve.SetAfterAppend(srv, func() {
		once.Do(func() {
			close(appended)
			<-release // the scrape's state is not stored until the query has read the history
		})
	})
	serve.SetOnLandedWait(srv, func() { close(waits) })
	scraped := make(chan struct{})
	go func() { defer close(scraped); serve.ScrapeNow(t.Context(), srv) }()
	<-appended
	type answer struct {
		code int
		r    apiResponse
	}
	answered := make(chan answer, 1)
	go func() {
		code, r := query(t, base, "sum(vllm:num_requests_waiting)")
		answered <- answer{code, r}
	}()
	var a answer
	select {
	case a = <-answered: // answered from the state before, without waiting for the scrape's
	case <-waits: // the query waits for the state of the scrape whose markers it read
		close(release)
		a = <-answered
	}
	select {
	case <-release:
	default:
		close(release)
	}
	<-scraped
	if a.code != http.StatusServiceUnavailable || a.r.ErrorType != "unavailable" || !strings.Contains(a.r.Error, svc.Pods()[0].Name) {
		t.Errorf("every pod failed in a scrape appended during the query: got %d %q %q %s, want 503 unavailable naming the pods", a.code, a.r.ErrorType, a.r.Error, a.r.Data)
	}
}

// TestOnlyUnreadyPodsHoldTheSeriesIsUnavailable: two models behind one Service, model a's
// only pod failing its readiness probe (overloaded): it is no longer scraped and its
// series go stale, so model a's query would be empty (KEDA's 0, a scale-down under load).
// It is 503 naming the pod, as a Service whose every pod is not Ready is; model b's query
// is answered. Once the pod is deleted (model a scaled to zero), the answer is empty, as
// Prometheus'.
func TestOnlyUnreadyPodsHoldTheSeriesIsUnavailable(t *testing.T) {
	svc := newService(t, "vllm", 2, waiting)
	a, b := svc.Pods()[0], svc.Pods()[1]
	a.SetBody("# TYPE vllm:num_requests_waiting gauge\nvllm:num_requests_waiting{model_name=\"a\"} 9\n")
	b.SetBody("# TYPE vllm:num_requests_waiting gauge\nvllm:num_requests_waiting{model_name=\"b\"} 1\n")
	base := startServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}, MaxAge: time.Nanosecond})
	const ofA, ofB = `sum(vllm:num_requests_waiting{model_name="a"})`, `sum(vllm:num_requests_waiting{model_name="b"})`
	if code, r := query(t, base, ofA); code != http.StatusOK || len(vector(t, r)) != 1 {
		t.Fatalf("healthy: %d %q %s", code, r.Error, r.Data)
	}
	if err := a.SetReady(t.Context(), false); err != nil {
		t.Fatal(err)
	}
	code, r := query(t, base, ofA)
	if code != http.StatusServiceUnavailable || r.ErrorType != "unavailable" || !strings.Contains(r.Error, "pod "+a.Name+": not Ready") {
		t.Errorf("model a's only pod not Ready: got %d %q %q %s, want 503 unavailable naming pod %s not Ready", code, r.ErrorType, r.Error, r.Data, a.Name)
	}
	if code, r := query(t, base, ofB); code != http.StatusOK || len(vector(t, r)) != 1 || vector(t, r)[0].Value[1] != "1" {
		t.Errorf("model b, whose pod is Ready: got %d %q %s, want 200 and 1", code, r.Error, r.Data)
	}
	// Evicted: phase Failed, Ready=True kept (kubernetes#124648). Not scraped (finished),
	// not removed by its controller either: the model lost its capacity, not its load.
	var evicted corev1.Pod
	if err := env.Client.Get(t.Context(), client.ObjectKey{Namespace: svc.Namespace, Name: a.Name}, &evicted); err != nil {
		t.Fatal(err)
	}
	evicted.Status.Phase = corev1.PodFailed
	for i := range evicted.Status.Conditions {
		if evicted.Status.Conditions[i].Type == corev1.PodReady {
			evicted.Status.Conditions[i].Status = corev1.ConditionTrue
		}
	}
	if err := env.Client.Status().Update(t.Context(), &evicted); err != nil {
		t.Fatal(err)
	}
	code, r = query(t, base, ofA)
	if code != http.StatusServiceUnavailable || !strings.Contains(r.Error, "pod "+a.Name+": finished (Failed)") {
		t.Errorf("model a's only pod evicted: got %d %q %q %s, want 503 naming pod %s finished", code, r.ErrorType, r.Error, r.Data, a.Name)
	}
	if err := a.Delete(t.Context()); err != nil {
		t.Fatal(err)
	}
	if code, r := query(t, base, ofA); code != http.StatusOK || string(r.Data) != `{"resultType":"vector","result":[]}` {
		t.Errorf("model a's pod deleted: got %d %q %s, want 200 and the empty answer", code, r.Error, r.Data)
	}
}

// twoModelServices starts two vLLM Services in one namespace, one per model: vllm-a's pod
// exposes model a's queue (9), vllm-b's model b's (1).
func twoModelServices(t *testing.T) (a, b *podscrapetest.Service) {
	t.Helper()
	a = newService(t, "vllm-a", 1, "# TYPE vllm:num_requests_waiting gauge\nvllm:num_requests_waiting{model_name=\"a\"} 9\n")
	b, err := env.NewService(t.Context(), podscrapetest.ServiceOptions{Namespace: a.Namespace, Name: "vllm-b", Pods: 1,
		Body: "# TYPE vllm:num_requests_waiting gauge\nvllm:num_requests_waiting{model_name=\"b\"} 1\n"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return a, b
}

// TestRateAfterAnOutageLongerThanItsWindow: every pod of a Service failing its scrapes
// for longer than a rate's window leaves, when one answers again, its one scrape alone in
// the window: the rate answers nothing, and sum(rate(x[2s])) or vector(0) would answer 0,
// "no load", right after the outage (as a Prometheus server would). It is 422 naming
// the window until a second scrape is held; a warning with --allow-partial-windows.
func TestRateAfterAnOutageLongerThanItsWindow(t *testing.T) {
	const expr = "sum(rate(reqs_total[2s])) or vector(0)"
	for _, allow := range []bool{false, true} {
		svc := newService(t, "vllm", 1, "# TYPE reqs counter\nreqs_total 10\n")
		p := svc.Pods()[0]
		base := startServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}, MaxAge: time.Nanosecond, AllowPartialWindows: allow})
		p.SetBody("# TYPE reqs counter\nreqs_total 20\n")
		// Two scrapes milliseconds apart: the rate's window reaches before them, an
		// estimate over the span held, warned.
		if code, r := query(t, base, expr); code != http.StatusOK || len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "has samples only since") {
			t.Fatalf("healthy: got %d %q warnings %q, want 200 and the start's partial window warning", code, r.Error, r.Warnings)
		}
		p.SetHandler(failing)
		// Poll (each query scrapes, MaxAge) until the outage is longer than the window.
		for end := time.Now().Add(3 * time.Second); time.Now().Before(end); {
			query(t, base, "up")
			time.Sleep(50 * time.Millisecond) // polling the server, not waiting for time to pass
		}
		p.SetBody("# TYPE reqs counter\nreqs_total 90\n")
		code, r := query(t, base, expr)
		switch {
		case !allow && (code != http.StatusUnprocessableEntity || !strings.Contains(r.Error, "rate(reqs_total[2s])")):
			t.Errorf("first query after a 3s outage: got %d %q %s, want 422 naming the window", code, r.Error, r.Data)
		case allow && (code != http.StatusOK || len(r.Warnings) == 0 || !strings.Contains(r.Warnings[0], "rate(reqs_total[2s])")):
			t.Errorf("first query after a 3s outage, partial windows allowed: got %d %q warnings %q, want 200 with the window's warning", code, r.Error, r.Warnings)
		}
		// The next scrape is the second in the window: the rate answers.
		if code, r := query(t, base, expr); code != http.StatusOK || len(r.Warnings) > 0 {
			t.Errorf("two scrapes after the outage: got %d %q warnings %q, want 200 and no warning", code, r.Error, r.Warnings)
		}
	}
}

// TestSomeUnreadyPodsHoldingTheSeriesAreWarned: one of a model's two pods failing its
// readiness probe under load is no longer scraped, and its series went stale: the sum
// leaves out the busiest pod. A pod whose scrape failed is named in a warning; the pod
// not Ready was left out silently, a smaller load with nothing to say so. It is named
// now, as is an evicted one (finished); not a pod deleted or terminating (a scale-down),
// nor one starting that never held the series.
func TestSomeUnreadyPodsHoldingTheSeriesAreWarned(t *testing.T) {
	svc := newService(t, "vllm", 2, waiting)
	a, b := svc.Pods()[0], svc.Pods()[1]
	a.SetBody("# TYPE vllm:num_requests_waiting gauge\nvllm:num_requests_waiting 1\n")
	b.SetBody("# TYPE vllm:num_requests_waiting gauge\nvllm:num_requests_waiting 9\n")
	base := startServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}, MaxAge: time.Nanosecond})
	const expr = "sum(vllm:num_requests_waiting)"
	if code, r := query(t, base, expr); code != http.StatusOK || len(r.Warnings) != 0 || vector(t, r)[0].Value[1] != "10" {
		t.Fatalf("healthy: %d %q %s %q, want 10 and no warning", code, r.Error, r.Data, r.Warnings)
	}
	if _, err := svc.AddPod(t.Context(), "starting"); err != nil {
		t.Fatal(err)
	}
	if err := svc.Pod("starting").SetReady(t.Context(), false); err != nil {
		t.Fatal(err)
	}
	if err := b.SetReady(t.Context(), false); err != nil {
		t.Fatal(err)
	}
	code, r := query(t, base, expr)
	if v := vector(t, r); code != http.StatusOK || len(v) != 1 || v[0].Value[1] != "1" {
		t.Fatalf("pod %s not Ready: got %d %q %s, want 200 and pod %s's 1", b.Name, code, r.Error, r.Data, a.Name)
	}
	if len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "pod "+b.Name+": not Ready") || !strings.Contains(r.Warnings[0], svc.Namespace+"/"+svc.Name) ||
		strings.Contains(r.Warnings[0], "starting") {
		t.Errorf("pod %s not Ready: warnings %q, want one naming the Service and pod %s not Ready (not the starting pod)", b.Name, r.Warnings, b.Name)
	}
	// A selector of series pod b never held is not warned of it.
	if code, r := query(t, base, `sum(vllm:num_requests_waiting{pod="`+a.Name+`"})`); code != http.StatusOK || len(r.Warnings) != 0 {
		t.Errorf("a selector of pod %s alone: got %d %q %q, want 200 and no warning", a.Name, code, r.Error, r.Warnings)
	}
	if err := b.Delete(t.Context()); err != nil {
		t.Fatal(err)
	}
	if code, r := query(t, base, expr); code != http.StatusOK || len(r.Warnings) != 0 {
		t.Errorf("pod %s deleted (a scale-down): got %d %q %q, want 200 and no warning", b.Name, code, r.Error, r.Warnings)
	}
}

// TestEveryPodNotReadyPastTheBoundIsNotSentToTargets: a selector held only by pods no
// longer scraped, more of them than a 503 names, counts the rest without sending the
// reader to /api/v1/targets, which lists no pod that is not Ready.
func TestEveryPodNotReadyPastTheBoundIsNotSentToTargets(t *testing.T) {
	svc := newService(t, "vllm", 12, waiting)
	svc.Pods()[0].SetBody("# TYPE other gauge\nother 1\n") // up throughout, holding none of the selector's series
	base := startServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}, MaxAge: time.Nanosecond})
	const expr = "sum(vllm:num_requests_waiting)"
	if code, r := query(t, base, expr); code != http.StatusOK {
		t.Fatalf("healthy: %d %q", code, r.Error)
	}
	for _, p := range svc.Pods()[1:] {
		if err := p.SetReady(t.Context(), false); err != nil {
			t.Fatal(err)
		}
	}
	code, r := query(t, base, expr)
	if code != http.StatusServiceUnavailable || !strings.Contains(r.Error, "or is not Ready") || !strings.HasSuffix(r.Error, "; and 1 more pod") {
		t.Fatalf("the eleven pods holding the series not Ready: got %d %q, want 503 naming ten and counting 1 more", code, r.Error)
	}
	if strings.Contains(r.Error, "/api/v1/targets") {
		t.Errorf("the 503 sends the reader to /api/v1/targets for pods that are not targets: %q", r.Error)
	}
}

// aheadClock reads the wall clock ahead by d: a source on it timestamps each pod's
// scrape d after the scrape began, as a scrape whose discovery or connections took d
// does.
type aheadClock struct{ d time.Duration }

func (c aheadClock) Now() time.Time                  { return time.Now().Add(c.d) }
func (c aheadClock) Since(t time.Time) time.Duration { return c.Now().Sub(t) }

// TestPodsReplacedInOneScrapeLeaveNoInstantEmpty: between two scrapes the only Ready
// pod turned not Ready and another became Ready (a one-replica rollout). The scrape
// marked the old pod's series stale at its start, and stored the new pod's samples at
// that pod's scrape time, later: an instant query at a time between the two (KEDA's,
// written to the second) read neither pod and answered 200 [] (KEDA's 0), the load
// being there all along. (Found by test/e2e TestSoakChurnWithAnOracle.)
func TestPodsReplacedInOneScrapeLeaveNoInstantEmpty(t *testing.T) {
	svc := newService(t, "vllm", 1, waiting)
	cfg := serviceConfig(svc)
	cfg.Source.Clock = aheadClock{50 * time.Millisecond}
	srv, base := runReadyServer(t, serve.Config{Services: []serve.ServiceConfig{cfg}, Interval: 4 * time.Minute})
	old := svc.Pods()[0]
	if err := old.SetReady(t.Context(), false); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.AddPod(t.Context(), "vllm-new"); err != nil {
		t.Fatal(err)
	}
	serve.ScrapeNow(t.Context(), srv)
	// The pod's samples are 50 ms ahead of serve's clock: read a second later.
	code, r := call(t, http.MethodGet, base, "/api/v1/query", url.Values{"query": {`timestamp(up{pod="vllm-new"})`}, "time": {formatTime(time.Now().Add(time.Second))}})
	if v := vector(t, r); code != http.StatusOK || len(v) != 1 {
		t.Fatalf("the new pod's scrape: got %d %s", code, r.Data)
	}
	scraped, err := strconv.ParseFloat(vector(t, r)[0].Value[1].(string), 64)
	if err != nil {
		t.Fatal(err)
	}
	// 25 ms before the new pod's scrape time, 25 ms after its scrape began.
	at := strconv.FormatFloat(scraped-0.025, 'f', 3, 64)
	code, r = call(t, http.MethodGet, base, "/api/v1/query", url.Values{"query": {"sum(vllm:num_requests_waiting)"}, "time": {at}})
	if code == http.StatusOK && len(vector(t, r)) == 0 {
		t.Errorf("sum at %s, between the scrape's start and the new pod's scrape: got 200 %s with warnings %q, want the load (the old pod's, until the scrape stored the new one's) or 503", at, r.Data, r.Warnings)
	}
}

// TestManyScrapesDuringAQueryStillAnswer: a query whose evaluation lasts longer than
// several scrapes of the Service it reads (a heavy range query, or one that waited for a
// concurrency slot, under a short --interval) is answered once it has checked every one of
// those scrapes. It was 503 "ask again" once more than 8 scrapes landed meanwhile: asked
// again, it lasted as long, and the Service was never answered while serve was busy.
func TestManyScrapesDuringAQueryStillAnswer(t *testing.T) {
	svc := newService(t, "vllm", 2, waiting)
	srv, base := runReadyServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}, Interval: 4 * time.Minute})
	var once sync.Once
	serve.SetBeforeExec(srv, func() {
		once.Do(func() {
			for range 12 { // the scrapes that land while the evaluation waits for its slot
				serve.ScrapeNow(t.Context(), srv)
			}
		})
	})
	if code, r := query(t, base, "sum(vllm:num_requests_waiting)"); code != http.StatusOK || len(vector(t, r)) != 1 {
		t.Fatalf("12 healthy scrapes during the query: got %d %q %s, want 200 and the sum", code, r.Error, r.Data)
	}
	// And a scrape in which every pod failed, among them, is still found.
	for _, p := range svc.Pods() {
		p.SetHandler(failing)
	}
	var again sync.Once
	serve.SetBeforeExec(srv, func() {
		again.Do(func() {
			serve.ScrapeNow(t.Context(), srv) // every pod failed: the evaluation may read their markers
			for _, p := range svc.Pods() {
				p.SetBody(waiting)
			}
			for range 11 {
				serve.ScrapeNow(t.Context(), srv)
			}
		})
	})
	if code, r := query(t, base, "sum(vllm:num_requests_waiting)"); code != http.StatusServiceUnavailable || !strings.Contains(r.Error, svc.Pods()[0].Name) {
		t.Errorf("a failed scrape among 12 during the query: got %d %q %s, want 503 naming the pods", code, r.Error, r.Data)
	}
}

// TestAPodFailedInAScrapeLandedDuringTheQueryIsWarned: a scrape in which one pod of two
// failed appends during a query's evaluation, which reads it (the pod's series stale: the
// sum is the other pod's alone), and a later scrape in which the pod is back is the latest
// once the query checks. The answer must warn of the pod missing from it, as it does when
// that scrape is still the latest; the landed scrape's warnings were checked for errors
// only and dropped: a silently partial sum, half the load.
func TestAPodFailedInAScrapeLandedDuringTheQueryIsWarned(t *testing.T) {
	svc := newService(t, "vllm", 2, waiting)
	srv, base := runReadyServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}, Interval: 4 * time.Minute})
	a := svc.Pods()[0]
	at := time.Now().Add(2 * time.Second) // evaluated after the scrape that lands, before the next
	var during, after sync.Once
	serve.SetBeforeExec(srv, func() {
		during.Do(func() {
			a.SetHandler(failing)
			serve.ScrapeNow(t.Context(), srv) // read by the evaluation: a's series stale
		})
	})
	serve.SetOnLandedWait(srv, func() {
		after.Do(func() {
			a.SetBody(waiting)
			if err := serve.ScrapeAt(t.Context(), srv, 0, at.Add(time.Second)); err != nil { // after the evaluation's time
				t.Error(err)
			}
		})
	})
	sumWithoutWarnsOf(t, base, at, a.Name)
}

// TestAPodFailedInAScrapeAfterTheQuerysTimeIsNotWarned: a scrape in which one pod failed
// lands during a query, but began after the query's time: the evaluation read none of it,
// the sum holds both pods, and no warning says one was left out.
func TestAPodFailedInAScrapeAfterTheQuerysTimeIsNotWarned(t *testing.T) {
	svc := newService(t, "vllm", 2, waiting)
	srv, base := runReadyServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}, Interval: 4 * time.Minute})
	a := svc.Pods()[0]
	at := time.Now().Add(2 * time.Second)
	var during, after sync.Once
	serve.SetBeforeExec(srv, func() {
		during.Do(func() {
			a.SetHandler(failing)
			if err := serve.ScrapeAt(t.Context(), srv, 0, at.Add(time.Second)); err != nil { // after the query's time
				t.Error(err)
			}
		})
	})
	serve.SetOnLandedWait(srv, func() {
		after.Do(func() {
			a.SetBody(waiting)
			if err := serve.ScrapeAt(t.Context(), srv, 0, at.Add(2*time.Second)); err != nil {
				t.Error(err)
			}
		})
	})
	code, r := call(t, http.MethodGet, base, "/api/v1/query", url.Values{"query": {"sum(vllm:num_requests_waiting)"}, "time": {strconv.FormatFloat(float64(at.UnixMilli())/1000, 'f', 3, 64)}})
	if code != http.StatusOK {
		t.Fatalf("got %d %q %s", code, r.Error, r.Data)
	}
	if v := vector(t, r); len(v) != 1 || v[0].Value[1] != "6" {
		t.Fatalf("got %s, want both pods' 6 (the test's premise)", r.Data)
	}
	if slices.ContainsFunc(r.Warnings, func(w string) bool { return strings.Contains(w, a.Name) }) {
		t.Errorf("the scrape %s failed began after the query's time: warnings %q, want none naming it", a.Name, r.Warnings)
	}
}

// TestAPodFailedInTheCheckedScrapeIsWarnedWhenALaterOneLands: the latest scrape when a
// query checks had one pod of two failed, and the evaluation reads it (the sum is the
// other pod's alone); a scrape in which the pod is back lands during the evaluation,
// begun after the query's time, so none of it is read. The answer must still warn of the
// pod missing from it: the check after the evaluation replaced the checked scrape's
// warnings with the latest scrape's, and skipped the landed one as begun too late, so
// the half sum came with no warning at all.
func TestAPodFailedInTheCheckedScrapeIsWarnedWhenALaterOneLands(t *testing.T) {
	svc := newService(t, "vllm", 2, waiting)
	srv, base := runReadyServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}, Interval: 4 * time.Minute})
	a := svc.Pods()[0]
	a.SetHandler(failing)
	serve.ScrapeNow(t.Context(), srv)     // the latest scrape when the query checks: a failed
	at := time.Now().Add(2 * time.Second) // evaluated after it
	var during sync.Once
	serve.SetBeforeExec(srv, func() {
		during.Do(func() {
			a.SetBody(waiting)
			if err := serve.ScrapeAt(t.Context(), srv, 0, at.Add(time.Second)); err != nil { // after the query's time
				t.Error(err)
			}
		})
	})
	sumWithoutWarnsOf(t, base, at, a.Name)
}

// sumWithoutWarnsOf asks sum(vllm:num_requests_waiting) at at, which the test set up to
// read a scrape that pod failed while the other pod answered 3: 200, the other pod's 3,
// and a warning naming pod.
func sumWithoutWarnsOf(t *testing.T, base string, at time.Time, pod string) {
	t.Helper()
	code, r := call(t, http.MethodGet, base, "/api/v1/query", url.Values{"query": {"sum(vllm:num_requests_waiting)"}, "time": {strconv.FormatFloat(float64(at.UnixMilli())/1000, 'f', 3, 64)}})
	if code != http.StatusOK {
		t.Fatalf("got %d %q %s", code, r.Error, r.Data)
	}
	if v := vector(t, r); len(v) != 1 || v[0].Value[1] != "3" {
		t.Fatalf("the evaluation read the scrape in which %s failed: got %s, want the other pod's 3 (the test's premise)", pod, r.Data)
	}
	if !slices.ContainsFunc(r.Warnings, func(w string) bool { return strings.Contains(w, pod) }) {
		t.Errorf("a sum without pod %s, which failed the scrape the evaluation read: warnings %q, want one naming it", pod, r.Warnings)
	}
}
