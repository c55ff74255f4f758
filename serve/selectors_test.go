package serve_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/podscrape/podscrape/podscrapetest"
	"github.com/podscrape/podscrape/serve"
)

// TestPodThatNeverGaveDataIsRead: two models behind one Service, model b's only pod
// failing every scrape since serve started (a restart during its outage): the history
// holds only its up and scrape_* series, so no selector of model b's series matched
// anything and the Service was not read: sum(...) answered [] (KEDA's 0, "no load"),
// absent(...) 1 and "or vector(0)" 0, without even a warning. What a pod that never gave
// data exposes is not known, as for a Service that never did: a data selector no pod that
// gave data holds, which the pod's target labels do not exclude, is 503 naming the pod.
func TestPodThatNeverGaveDataIsRead(t *testing.T) {
	svc := newService(t, "vllm", 2, waiting)
	a, b := svc.Pods()[0], svc.Pods()[1]
	a.SetBody("# TYPE vllm:num_requests_waiting gauge\nvllm:num_requests_waiting{model_name=\"a\"} 9\n")
	b.SetHandler(failing)
	base := startServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}, MaxAge: time.Nanosecond})

	ofB := `vllm:num_requests_waiting{model_name="b"}`
	for _, expr := range []string{
		"sum(" + ofB + ")",
		"absent(" + ofB + ")",
		"absent_over_time(" + ofB + "[5m])",
		"sum(" + ofB + ") or vector(0)",
		`vllm:num_requests_waiting{pod="` + b.Name + `"}`,
		`{__name__=~"vllm:.*",model_name="b"}`,
	} {
		code, r := query(t, base, expr)
		if code != http.StatusServiceUnavailable || r.ErrorType != "unavailable" ||
			!strings.Contains(r.Error, svc.Namespace+"/vllm") || !strings.Contains(r.Error, "pod "+b.Name+": ") {
			t.Errorf("%s, model b's only pod failing since the start: got %d %q %q %s, want 503 unavailable naming the Service and pod %s",
				expr, code, r.ErrorType, r.Error, r.Data, b.Name)
		}
	}
	// Model a's series, held by a pod that gives data: answered, the failed pod warned of.
	for _, expr := range []string{`sum(vllm:num_requests_waiting{model_name="a"})`, `sum(vllm:num_requests_waiting)`, `count by (pod) ({job="vllm"})`} {
		code, r := query(t, base, expr)
		if code != http.StatusOK || len(vector(t, r)) == 0 || len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], b.Name) {
			t.Errorf("%s: got %d %q %s warnings %q, want 200 with a warning naming pod %s", expr, code, r.Error, r.Data, r.Warnings, b.Name)
		}
	}
	// A pod matcher, or another job's, excludes the failed pod: nothing it could expose is read.
	for _, expr := range []string{`vllm:num_requests_waiting{model_name="b",pod="` + a.Name + `"}`, `vllm:num_requests_waiting{model_name="b",job="other"}`} {
		if code, r := query(t, base, expr); code != http.StatusOK || string(r.Data) != `{"resultType":"vector","result":[]}` {
			t.Errorf("%s: got %d %q %s, want 200 and []", expr, code, r.Error, r.Data)
		}
	}
	// up is the answer an alert wants while the pod fails.
	if code, r := query(t, base, "up == 0"); code != http.StatusOK || len(vector(t, r)) != 1 || vector(t, r)[0].Metric["pod"] != b.Name {
		t.Errorf("up == 0: got %d %q %s, want 200 and pod %s", code, r.Error, r.Data, b.Name)
	}

	// Once the pod answers, what it exposes is known.
	b.SetBody("# TYPE vllm:num_requests_waiting gauge\nvllm:num_requests_waiting{model_name=\"b\"} 1\n")
	code, r := query(t, base, "sum("+ofB+")")
	if code != http.StatusOK || len(vector(t, r)) != 1 || vector(t, r)[0].Value[1] != "1" {
		t.Errorf("model b's pod answering: got %d %q %s, want 200 and 1", code, r.Error, r.Data)
	}
	if code, r := query(t, base, `sum(vllm:num_requests_waiting{model_name="c"})`); code != http.StatusOK || len(r.Warnings) != 0 {
		t.Errorf("a model no pod exposes, every pod answering: got %d %q %q, want 200 without warnings", code, r.Error, r.Warnings)
	}
}

// TestPodFailingPastTheRetentionIsRead: model b's only pod, which gave data, failing for
// longer than the retention: its series are gone from the history and the selector of
// model b's series matched nothing, so the answer was [] while model a's pod answered.
// What the pod exposes is no longer known: 503 naming it, as for a whole Service down
// past the retention.
func TestPodFailingPastTheRetentionIsRead(t *testing.T) {
	svc := newService(t, "vllm", 2, waiting)
	a, b := svc.Pods()[0], svc.Pods()[1]
	a.SetBody("# TYPE vllm:num_requests_waiting gauge\nvllm:num_requests_waiting{model_name=\"a\"} 9\n")
	b.SetBody("# TYPE vllm:num_requests_waiting gauge\nvllm:num_requests_waiting{model_name=\"b\"} 1\n")
	base := startServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}, MaxAge: time.Nanosecond, Retention: time.Second})
	const ofB = `sum(vllm:num_requests_waiting{model_name="b"})`
	if code, r := query(t, base, ofB); code != http.StatusOK || len(vector(t, r)) != 1 {
		t.Fatalf("healthy: %d %q %s", code, r.Error, r.Data)
	}
	b.SetHandler(failing)
	deadline := time.Now().Add(30 * time.Second)
	for {
		query(t, base, "up") // scrapes: the history's time moves on
		code, r := call(t, http.MethodGet, base, "/api/v1/series", url.Values{"match[]": {`vllm:num_requests_waiting{model_name="b"}`}})
		if code == http.StatusOK && string(r.Data) == "[]" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the retention of 1s never dropped model b's series: %d %s", code, r.Data)
		}
		time.Sleep(50 * time.Millisecond) // polling the server's series, not waiting for time to pass
	}
	code, r := query(t, base, ofB)
	if code != http.StatusServiceUnavailable || r.ErrorType != "unavailable" || !strings.Contains(r.Error, "pod "+b.Name+": ") {
		t.Errorf("model b's only pod failing past the retention: got %d %q %q %s, want 503 unavailable naming pod %s", code, r.ErrorType, r.Error, r.Data, b.Name)
	}
	if code, r := query(t, base, `sum(vllm:num_requests_waiting{model_name="a"})`); code != http.StatusOK || len(vector(t, r)) != 1 || vector(t, r)[0].Value[1] != "9" {
		t.Errorf("model a's query: got %d %q %s, want 200 and 9", code, r.Error, r.Data)
	}
}

// TestRegexOfOnlySyntheticNamesReadsHealth: every pod of the Service failing, up is
// answered (0 per pod: what an alert on failing pods wants), and so must a regex on the
// metric name that matches only up and scrape_* names, as Prometheus answers it: it was
// 503 as if it read the pods' data.
func TestRegexOfOnlySyntheticNamesReadsHealth(t *testing.T) {
	svc := newService(t, "vllm", 2, waiting)
	for _, p := range svc.Pods() {
		p.SetHandler(failing)
	}
	base := startServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}, MaxAge: time.Nanosecond})
	for expr, want := range map[string]int{
		`up == 0`:               2,
		`{__name__=~"up"} == 0`: 2,
		`{__name__=~"up|scrape_duration_seconds",job="vllm"}`: 4,
		`count({__name__=~"scrape_samples_scraped|up"} == 0)`: 1,
	} {
		if code, r := query(t, base, expr); code != http.StatusOK || len(vector(t, r)) != want {
			t.Errorf("%s, every pod failing: got %d %q %s, want 200 and %d samples", expr, code, r.Error, r.Data, want)
		}
	}
	// A regex that may match the pods' own series still reads their data.
	for _, expr := range []string{`{__name__=~"up|vllm:num_requests_waiting"}`, `{__name__=~"(?i)up"}`, `{__name__=~"up.*"}`} {
		if code, r := query(t, base, expr); code != http.StatusServiceUnavailable {
			t.Errorf("%s, every pod failing: got %d %s, want 503", expr, code, r.Data)
		}
	}
}

// TestPodThatNeverGaveDataTurningNotReadyIsRead: model b's only pod, failing every scrape
// since serve started (503, TestPodThatNeverGaveDataIsRead), then failing its readiness
// probe (a crash-looping model server): no longer scraped, it left the failed pods, and
// model b's query answered [] (KEDA's 0). What it exposes is still not known: 503 naming
// it not Ready; once it is deleted (the model scaled to zero), [] as in Prometheus.
func TestPodThatNeverGaveDataTurningNotReadyIsRead(t *testing.T) {
	svc := newService(t, "vllm", 2, waiting)
	a, b := svc.Pods()[0], svc.Pods()[1]
	a.SetBody("# TYPE vllm:num_requests_waiting gauge\nvllm:num_requests_waiting{model_name=\"a\"} 9\n")
	b.SetHandler(failing)
	base := startServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(svc)}, MaxAge: time.Nanosecond})
	const ofA, ofB = `sum(vllm:num_requests_waiting{model_name="a"})`, `sum(vllm:num_requests_waiting{model_name="b"})`
	if code, r := query(t, base, ofB); code != http.StatusServiceUnavailable {
		t.Fatalf("model b's pod failing: got %d %q %s, want 503", code, r.Error, r.Data)
	}
	if err := b.SetReady(t.Context(), false); err != nil {
		t.Fatal(err)
	}
	code, r := query(t, base, ofB)
	if code != http.StatusServiceUnavailable || r.ErrorType != "unavailable" || !strings.Contains(r.Error, "pod "+b.Name+": not Ready") {
		t.Errorf("model b's only pod, which never gave data, not Ready: got %d %q %q %s, want 503 naming pod %s not Ready", code, r.ErrorType, r.Error, r.Data, b.Name)
	}
	if code, r := query(t, base, ofA); code != http.StatusOK || len(vector(t, r)) != 1 || vector(t, r)[0].Value[1] != "9" {
		t.Errorf("model a: got %d %q %s, want 200 and 9", code, r.Error, r.Data)
	}
	if err := b.Delete(t.Context()); err != nil {
		t.Fatal(err)
	}
	if code, r := query(t, base, ofB); code != http.StatusOK || string(r.Data) != `{"resultType":"vector","result":[]}` {
		t.Errorf("model b's pod deleted: got %d %q %s, want 200 and the empty answer", code, r.Error, r.Data)
	}
}

// TestPodMatcherExcludesAServiceThatNeverAnswered: a Service whose pods never answered
// is read by any selector its job and namespace matchers do not exclude (what it exposes
// is not known), but its pods are: a selector of another Service's pods by name
// (Grafana's per-pod panel) was 503 naming it, where Prometheus answers. A selector its
// pods' target labels do not exclude still is 503.
func TestPodMatcherExcludesAServiceThatNeverAnswered(t *testing.T) {
	a, b := twoModelServices(t)
	b.Pods()[0].SetHandler(failing)
	base := startServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(a), serviceConfig(b)}, MaxAge: time.Nanosecond})
	for _, expr := range []string{
		`vllm:num_requests_waiting{pod="` + a.Pods()[0].Name + `"}`,
		`vllm:num_requests_waiting{pod=~"vllm-a-.*"}`,
		`vllm:num_requests_waiting{instance="` + strings.TrimPrefix(a.Pods()[0].URL(), "http://") + `"}`,
	} {
		if code, r := query(t, base, expr); code != http.StatusOK || len(vector(t, r)) != 1 || vector(t, r)[0].Value[1] != "9" {
			t.Errorf("%s, vllm-b never answered: got %d %q %s, want 200 and 9", expr, code, r.Error, r.Data)
		}
	}
	for _, expr := range []string{`vllm:num_requests_waiting{model_name="a"}`, `vllm:num_requests_waiting{pod=~"vllm-.*"}`, `vllm:num_requests_waiting{pod="` + b.Pods()[0].Name + `"}`} {
		if code, r := query(t, base, expr); code != http.StatusServiceUnavailable || !strings.Contains(r.Error, b.Namespace+"/vllm-b") {
			t.Errorf("%s, vllm-b never answered: got %d %q, want 503 naming it", expr, code, r.Error)
		}
	}
}

// TestPodThatNeverGaveDataIsReadForItsServicesMetrics: a pod that never gave data runs
// the program its Service's other pods run: a selector of a metric no pod of its Service
// ever exposed (the EPP's beside vLLM, with no job matcher; a typo) does not read it, and
// one broken vLLM pod does not fail the EPP's queries. Its Service's metric names still do.
func TestPodThatNeverGaveDataIsReadForItsServicesMetrics(t *testing.T) {
	epp := newService(t, "epp", 1, "# TYPE epp_queue gauge\nepp_queue 4\n")
	vllm, err := env.NewService(t.Context(), podscrapetest.ServiceOptions{Namespace: epp.Namespace, Name: "vllm", Pods: 2, Body: waiting})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = vllm.Close() })
	vllm.Pods()[1].SetHandler(failing)
	base := startServer(t, serve.Config{Services: []serve.ServiceConfig{serviceConfig(epp), serviceConfig(vllm)}, MaxAge: time.Nanosecond})
	if code, r := query(t, base, "sum(epp_queue)"); code != http.StatusOK || len(vector(t, r)) != 1 || vector(t, r)[0].Value[1] != "4" {
		t.Errorf("the EPP's metric, a vLLM pod failing since the start: got %d %q %s, want 200 and 4", code, r.Error, r.Data)
	}
	if code, r := query(t, base, "sum(vllm:num_requests_waiting_typo)"); code != http.StatusOK || string(r.Data) != `{"resultType":"vector","result":[]}` {
		t.Errorf("a metric no pod exposes: got %d %q %s, want 200 and []", code, r.Error, r.Data)
	}
	if code, r := query(t, base, `sum(vllm:num_requests_waiting{model_name="b"})`); code != http.StatusServiceUnavailable || !strings.Contains(r.Error, "pod "+vllm.Pods()[1].Name+": ") {
		t.Errorf("a vLLM metric of a model no pod that gave data serves: got %d %q %s, want 503 naming pod %s", code, r.Error, r.Data, vllm.Pods()[1].Name)
	}
}
