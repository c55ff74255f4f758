package serve

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/podscrape/podscrape/internal/promserver"
	"github.com/podscrape/podscrape/podscrapetest"
	"github.com/podscrape/podscrape/serve"
)

// startPrometheus runs the real Prometheus server with config until the test ends.
func startPrometheus(t *testing.T, config string) *promserver.Server {
	t.Helper()
	prom, err := promserver.Start(t.Context(), promserver.Options{Config: config, Progress: os.Stderr})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = prom.Stop() })
	return prom
}

// envelope is Prometheus' API envelope with its data decoded generically.
type envelope struct {
	Status    string   `json:"status"`
	Data      any      `json:"data"`
	ErrorType string   `json:"errorType"`
	Error     string   `json:"error"`
	Warnings  []string `json:"warnings"`
}

// get asks base+path with params and returns the status code and the decoded envelope.
func get(t testing.TB, base, path string, params url.Values) (int, envelope) {
	t.Helper()
	code, b := getBody(t, base, path, params)
	var e envelope
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatalf("%s%s: %q: %v", base, path, b, err)
	}
	return code, e
}

// withoutLabels removes the named labels from every "metric" object and series label set
// in v, in place: what Prometheus' job config and serve name differently.
func withoutLabels(v any, names ...string) {
	switch x := v.(type) {
	case map[string]any:
		if m, ok := x["metric"].(map[string]any); ok {
			for _, n := range names {
				delete(m, n)
			}
		}
		for _, e := range x {
			withoutLabels(e, names...)
		}
	case []any:
		for _, e := range x {
			if m, ok := e.(map[string]any); ok {
				if _, isSeries := m["__name__"]; isSeries {
					for _, n := range names {
						delete(m, n)
					}
				}
			}
			withoutLabels(e, names...)
		}
	}
}

// TestSameJSONAsPrometheus asks serve and the real Prometheus server, scraping the same
// pods, the same requests at the same time: the same status, errorType, error text,
// JSON shape and values (gauges: exactly), labels (instance included) and series, job
// aside (the test's Prometheus config drops it from scraped series).
func TestSameJSONAsPrometheus(t *testing.T) {
	svc := newService(t, podscrapetest.ServiceOptions{Name: "vllm", Pods: 2})
	for i, p := range svc.Pods() {
		p.SetBody(body(i))
	}
	// Prometheus has scraped both pods 4 times (serve did from the start).
	base, prom := startServeBesidePrometheus(t, svc, "vllm:num_requests_waiting", 4)

	at := strconv.FormatFloat(float64(time.Now().UnixMilli())/1000, 'f', 3, 64)
	from := strconv.FormatFloat(float64(time.Now().Add(-2*time.Second).UnixMilli())/1000, 'f', 3, 64)
	for _, tc := range []struct {
		path   string
		params url.Values
	}{
		{"/api/v1/query", url.Values{"query": {"sum(vllm:num_requests_waiting)"}, "time": {at}}},
		{"/api/v1/query", url.Values{"query": {"max by (pod) (vllm:num_requests_waiting)"}, "time": {at}}},
		{"/api/v1/query", url.Values{"query": {`vllm:kv_cache_usage_perc{model_name="m"}`}, "time": {at}}},
		{"/api/v1/query", url.Values{"query": {"scalar(max(vllm:kv_cache_usage_perc))"}, "time": {at}}},
		{"/api/v1/query", url.Values{"query": {`vllm:num_requests_waiting{pod="none"}`}, "time": {at}}},
		{"/api/v1/query", url.Values{"query": {"sum by (pod) (up)"}, "time": {at}}},
		{"/api/v1/query", url.Values{"query": {`"text"`}, "time": {at}}},
		{"/api/v1/query_range", url.Values{"query": {"sum(vllm:num_requests_waiting)"}, "start": {from}, "end": {at}, "step": {"1"}}},
		{"/api/v1/query", url.Values{"query": {"sum("}}},
		{"/api/v1/query", url.Values{"query": {"rate(vllm:num_requests_waiting)"}}},
		{"/api/v1/query", url.Values{"query": {"up"}, "time": {"yesterday"}}},
		{"/api/v1/query_range", url.Values{"query": {"up"}, "start": {"10"}, "end": {"1"}, "step": {"1"}}},
		{"/api/v1/query_range", url.Values{"query": {"up"}, "start": {"1"}, "end": {"100000"}, "step": {"1"}}},
		{"/api/v1/query_range", url.Values{"query": {"up"}, "start": {"1"}, "end": {"10"}, "step": {"0"}}},
		{"/api/v1/series", url.Values{}},
		{"/api/v1/series", url.Values{"match[]": {"vllm:kv_cache_usage_perc"}}},
		{"/api/v1/series", url.Values{"match[]": {`{__name__=~".*"}`}, "limit": {"x"}}},
		{"/api/v1/label/model_name/values", url.Values{}},
		{"/api/v1/label/pod/values", url.Values{"match[]": {"vllm:num_requests_waiting"}}},
		{"/api/v1/query_range", url.Values{"query": {"sum(nope)"}, "start": {from}, "end": {at}, "step": {"1"}}},
		{"/api/v1/query", url.Values{"query": {"sort(max by (pod) (vllm:num_requests_waiting))"}, "time": {at}, "limit": {"1"}}},
		{"/api/v1/query", url.Values{"query": {"up"}, "timeout": {"x"}}},
		{"/api/v1/query", url.Values{"query": {"up"}, "limit": {"-1"}}},
		{"/api/v1/series", url.Values{"match[]": {`{pod=~".*"}`}}},
		{"/api/v1/series", url.Values{"match[]": {"sum("}}},
		{"/api/v1/labels", url.Values{"match[]": {`{pod=~".*"}`}}},
		{"/api/v1/metadata", url.Values{"limit_per_metric": {"x"}}},
		{"/api/v1/series", url.Values{"match[]": {"up"}, "start": {"x"}}},
		{"/api/v1/labels", url.Values{"match[]": {"vllm:num_requests_waiting"}, "end": {"x"}}},
		{"/api/v1/label/in-valid/values", url.Values{}},
		{"/api/v1/label/model_name/values", url.Values{"match[]": {"sum("}}},
		{"/api/v1/metadata", url.Values{"metric": {"nope"}}},
		{"/api/v1/metadata", url.Values{"metric": {"vllm:num_requests_waiting"}, "limit": {"x"}}},
		// Grafana's probe of exemplar support sends milliseconds as start and end.
		{"/api/v1/query_exemplars", url.Values{"query": {"test"}, "start": {"1796591713659"}, "end": {"1796593513659"}}},
		{"/api/v1/query_exemplars", url.Values{"query": {"sum("}}},
		{"/api/v1/query_exemplars", url.Values{"query": {"up"}, "start": {"x"}}},
		{"/api/v1/query_exemplars", url.Values{"query": {"up"}, "end": {"x"}}},
		{"/api/v1/query_exemplars", url.Values{"query": {"up"}, "start": {"10"}, "end": {"1"}}},
		// Every match[] is parsed before any is checked for emptiness.
		{"/api/v1/series", url.Values{"match[]": {`{a=""}`, "sum("}}},
		{"/api/v1/labels", url.Values{"match[]": {`{a=""}`, "sum("}}},
		// Neither evaluates rules, but both check what a rules request asks.
		{"/api/v1/rules", url.Values{"type": {"ALERT"}, "exclude_alerts": {"TRUE"}}},
		{"/api/v1/rules", url.Values{"type": {"x"}}},
		{"/api/v1/rules", url.Values{"match[]": {"sum("}}},
		{"/api/v1/rules", url.Values{"match[]": {`{a=""}`}}},
		{"/api/v1/rules", url.Values{"match[]": {`up`}, "rule_name[]": {"a"}, "rule_group[]": {"b"}, "file[]": {"c"}}},
		{"/api/v1/rules", url.Values{"exclude_alerts": {"maybe"}}},
		{"/api/v1/rules", url.Values{"group_limit": {"x"}}},
		{"/api/v1/rules", url.Values{"group_limit": {"0"}}},
		{"/api/v1/rules", url.Values{"group_limit": {"1"}}},
		{"/api/v1/rules", url.Values{"group_next_token": {"abc"}}},
		{"/api/v1/rules", url.Values{"group_limit": {"1"}, "group_next_token": {"abc"}}},
	} {
		name := tc.path + "?" + tc.params.Encode()
		sc, se := get(t, base, tc.path, tc.params)
		pc, pe := get(t, prom.URL, tc.path, tc.params)
		normalize(se.Data)
		normalize(pe.Data)
		if sc != pc || se.Status != pe.Status || se.ErrorType != pe.ErrorType || se.Error != pe.Error || !slices.Equal(se.Warnings, pe.Warnings) {
			t.Errorf("%s:\nserve      %d %s %s %q %q\nprometheus %d %s %s %q %q", name, sc, se.Status, se.ErrorType, se.Error, se.Warnings, pc, pe.Status, pe.ErrorType, pe.Error, pe.Warnings)
			continue
		}
		if !reflect.DeepEqual(se.Data, pe.Data) {
			sj, _ := json.Marshal(se.Data)
			pj, _ := json.Marshal(pe.Data)
			t.Errorf("%s: data differ\nserve      %s\nprometheus %s", name, sj, pj)
		}
	}

	// Byte for byte, where the answer depends on no scrape: the same timestamp and float
	// formats (1700000000.500, 1e-07, NaN, +Inf) and the same escaping of label values.
	for _, tc := range []struct {
		path   string
		params url.Values
	}{
		{"/api/v1/query", url.Values{"query": {`label_replace(vector(1e-7), "a", "<&>\"\n\u2028é", "", "")`}, "time": {"1700000000.5"}}},
		{"/api/v1/query", url.Values{"query": {"vector(NaN) or label_replace(vector(+Inf), \"x\", \"y\", \"\", \"\")"}, "time": {"1700000000.005"}}},
		{"/api/v1/query", url.Values{"query": {"vector(123456789012345678901234)"}, "time": {"1700000000"}}},
		{"/api/v1/query", url.Values{"query": {"scalar(vector(0.25))"}, "time": {"1700000000.5"}}},
		{"/api/v1/query_range", url.Values{"query": {`label_replace(vector(time() * 1e-9), "b", "1", "", "")`}, "start": {"1700000000.5"}, "end": {"1700000002.5"}, "step": {"1"}}},
		{"/api/v1/format_query", url.Values{"query": {`sum by(pod)(rate(x{a="b"}[5m]))/on(pod) group_left sum(y)`}}},
		{"/api/v1/format_query", url.Values{"query": {"sum("}}},
		// Neither evaluates rules: Grafana's alerting view asks every data source.
		{"/api/v1/rules", url.Values{}},
		{"/api/v1/rules", url.Values{"type": {"alert"}}},
		{"/api/v1/alerts", url.Values{}},
	} {
		_, sb := getBody(t, base, tc.path, tc.params)
		_, pb := getBody(t, prom.URL, tc.path, tc.params)
		if s, p := string(sb), string(pb); s != p {
			t.Errorf("%s?%s: bodies differ\nserve      %s\nprometheus %s", tc.path, tc.params.Encode(), s, p)
		}
	}

	// Labels: job aside, the same names.
	_, se := get(t, base, "/api/v1/labels", url.Values{"match[]": {"vllm:num_requests_waiting"}})
	_, pe := get(t, prom.URL, "/api/v1/labels", url.Values{"match[]": {"vllm:num_requests_waiting"}})
	if got, want := namesWithout(se.Data, "job"), namesWithout(pe.Data, "job"); got != want {
		t.Errorf("labels: serve %v, prometheus %v", se.Data, pe.Data)
	}
	_, se = get(t, base, "/api/v1/metadata", url.Values{"metric": {"vllm:num_requests_waiting"}})
	_, pe = get(t, prom.URL, "/api/v1/metadata", url.Values{"metric": {"vllm:num_requests_waiting"}})
	if !reflect.DeepEqual(se.Data, pe.Data) {
		t.Errorf("metadata: serve %v, prometheus %v", se.Data, pe.Data)
	}
	_, se = get(t, base, "/api/v1/targets", nil)
	_, pe = get(t, prom.URL, "/api/v1/targets", nil)
	if sk, pk := keys(se.Data, "activeTargets"), keys(pe.Data, "activeTargets"); sk != pk {
		t.Errorf("targets' fields: serve %s, prometheus %s", sk, pk)
	}
	if sk, pk := keys(map[string]any{"x": []any{se.Data}}, "x"), keys(map[string]any{"x": []any{pe.Data}}, "x"); sk != pk {
		t.Errorf("targets' data fields: serve %s, prometheus %s", sk, pk)
	}
	_, se = get(t, base, "/api/v1/status/buildinfo", nil)
	_, pe = get(t, prom.URL, "/api/v1/status/buildinfo", nil)
	if sk, pk := keys(map[string]any{"x": []any{se.Data}}, "x"), keys(map[string]any{"x": []any{pe.Data}}, "x"); sk != pk {
		t.Errorf("buildinfo's fields: serve %s, prometheus %s", sk, pk)
	}
	sc, se := get(t, base, "/api/v1/query_exemplars", url.Values{"query": {"vllm:num_requests_waiting"}, "start": {from}, "end": {at}})
	pc, pe := get(t, prom.URL, "/api/v1/query_exemplars", url.Values{"query": {"vllm:num_requests_waiting"}, "start": {from}, "end": {at}})
	if sc != pc || !reflect.DeepEqual(se, pe) {
		t.Errorf("query_exemplars: serve %d %+v, prometheus %d %+v", sc, se, pc, pe)
	}
	// stats: the evaluation's statistics in the data, with Prometheus' fields (their
	// values are timings and counts of each server's own evaluation), and its warning
	// for a value it does not document.
	for _, tc := range []struct {
		path   string
		params url.Values
	}{
		{"/api/v1/query", url.Values{"query": {"sum(vllm:num_requests_waiting)"}, "time": {at}, "stats": {"true"}}},
		{"/api/v1/query", url.Values{"query": {"sum(vllm:num_requests_waiting)"}, "time": {at}, "stats": {"all"}}},
		{"/api/v1/query", url.Values{"query": {"scalar(sum(vllm:num_requests_waiting))"}, "time": {at}, "stats": {"1"}}},
		{"/api/v1/query_range", url.Values{"query": {"vllm:num_requests_waiting"}, "start": {from}, "end": {at}, "step": {"1"}, "stats": {"all"}}},
		{"/api/v1/query_range", url.Values{"query": {"vllm:num_requests_waiting"}, "start": {from}, "end": {at}, "step": {"1"}}},
	} {
		name := tc.path + "?" + tc.params.Encode()
		sc, se := get(t, base, tc.path, tc.params)
		pc, pe := get(t, prom.URL, tc.path, tc.params)
		sd, _ := se.Data.(map[string]any)
		pd, _ := pe.Data.(map[string]any)
		if sc != pc || !slices.Equal(se.Warnings, pe.Warnings) || !reflect.DeepEqual(shape(sd["stats"]), shape(pd["stats"])) {
			sj, _ := json.Marshal(sd["stats"])
			pj, _ := json.Marshal(pd["stats"])
			t.Errorf("%s:\nserve      %d %q stats %s\nprometheus %d %q stats %s", name, sc, se.Warnings, sj, pc, pe.Warnings, pj)
		}
	}

	// POST with a form, as prometheus-adapter and Grafana send queries.
	form := url.Values{"query": {"sum(vllm:num_requests_waiting)"}, "time": {at}}
	if s, p := post(t, base, "/api/v1/query", form), post(t, prom.URL, "/api/v1/query", form); s != p {
		t.Errorf("POST /api/v1/query: serve %s, prometheus %s", s, p)
	}
	for _, path := range []string{"/-/healthy", "/-/ready"} {
		if s, p := statusOf(t, base+path), statusOf(t, prom.URL+path); s != p {
			t.Errorf("%s: serve %d, prometheus %d", path, s, p)
		}
	}
}

// shape is v with every number 0: the fields of a JSON value, not its measurements.
func shape(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			out[k] = shape(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = shape(e)
		}
		return out
	case float64:
		return 0.0
	}
	return v
}

// getBody asks base+path with params and returns the status code and the body.
func getBody(t testing.TB, base, path string, params url.Values) (int, []byte) {
	t.Helper()
	resp, err := http.Get(base + path + "?" + params.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// post sends form to base+path and returns the status and the envelope's data, job aside,
// as JSON.
func post(t *testing.T, base, path string, form url.Values) string {
	t.Helper()
	resp, err := http.PostForm(base+path, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e envelope
	if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
		t.Fatal(err)
	}
	normalize(e.Data)
	b, _ := json.Marshal(e)
	return strconv.Itoa(resp.StatusCode) + " " + string(b)
}

// statusOf is the HTTP status of a GET of u.
func statusOf(t *testing.T, u string) int {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// normalize drops the label Prometheus' job config and serve name differently (job: serve
// names it after the Service, the config drops it from scraped series) and sorts results
// and series by their remaining labels (Prometheus orders them by every label, job
// included).
func normalize(data any) {
	withoutLabels(data, "job")
	sortByJSON := func(list []any, key string) {
		sort.SliceStable(list, func(i, j int) bool {
			a, _ := json.Marshal(pick(list[i], key))
			b, _ := json.Marshal(pick(list[j], key))
			return string(a) < string(b)
		})
	}
	switch d := data.(type) {
	case map[string]any:
		if r, ok := d["result"].([]any); ok {
			sortByJSON(r, "metric")
		}
	case []any:
		sortByJSON(d, "")
	}
}

// pick returns v[key] when v is an object and key is set, else v.
func pick(v any, key string) any {
	if m, ok := v.(map[string]any); ok && key != "" {
		return m[key]
	}
	return v
}

// namesWithout lists the strings of data, a JSON list, except drop.
func namesWithout(data any, drop ...string) string {
	var out []string
	list, _ := data.([]any)
	for _, v := range list {
		if s, _ := v.(string); !slices.Contains(drop, s) {
			out = append(out, s)
		}
	}
	return strings.Join(out, " ")
}

// keys lists the fields of the first element of data[field], sorted.
func keys(data any, field string) string {
	list, _ := data.(map[string]any)[field].([]any)
	if len(list) == 0 {
		return "none"
	}
	var out []string
	for k := range list[0].(map[string]any) {
		out = append(out, k)
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

// startServeBesidePrometheus starts serve and the real Prometheus server on svc's pods,
// both at a 1 s interval, and returns once Prometheus has scraped metric from each pod at
// least times times. It returns serve's base URL and the Prometheus server.
func startServeBesidePrometheus(t *testing.T, svc *podscrapetest.Service, metric string, times int) (string, *promserver.Server) {
	t.Helper()
	base := startServe(t, serve.Config{Services: []serve.ServiceConfig{{Source: sourceConfig(svc)}}, Interval: time.Second})
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := env.WriteKubeconfig(kubeconfig, svc.Namespace); err != nil {
		t.Fatal(err)
	}
	prom := startPrometheus(t, promserver.PodScrapeConfig(kubeconfig, time.Second, promserver.PodJob{
		Name: svc.Name, Namespace: svc.Namespace, Selector: "app=" + svc.Name, Port: int(svc.Port),
	}))
	query := fmt.Sprintf("count(count_over_time(%s[%ds]) >= %d)", metric, times+1, times)
	pods := strconv.Itoa(len(svc.Pods()))
	deadline := time.Now().Add(time.Minute)
	for {
		_, e := get(t, prom.URL, "/api/v1/query", url.Values{"query": {query}})
		if r, _ := e.Data.(map[string]any)["result"].([]any); len(r) == 1 && r[0].(map[string]any)["value"].([]any)[1] == pods {
			return base, prom
		}
		if time.Now().After(deadline) {
			t.Fatalf("Prometheus has not scraped %s pods %d times in a minute: %+v", pods, times, e)
		}
		time.Sleep(100 * time.Millisecond) // polling Prometheus' answer
	}
}

// TestTimeOfYearOneIsNotNow asks an instant query at the year 1 (0001-01-01T00:00:00Z,
// or -62135596800: a Go client's zero time.Time formatted), which is Go's zero time:
// the real Prometheus server answers it with no sample, serve must not answer it with
// now's values, as it did when it read the zero time as "no time parameter". It answers
// it as it answers a time a second later, before its history (422, docs/serve.md).
func TestTimeOfYearOneIsNotNow(t *testing.T) {
	svc := newService(t, podscrapetest.ServiceOptions{Name: "vllm", Pods: 1})
	svc.Pods()[0].SetBody(body(0))
	base, prom := startServeBesidePrometheus(t, svc, "vllm:num_requests_waiting", 1)
	const query = "sum(vllm:num_requests_waiting)"
	result := func(e envelope) []any {
		d, _ := e.Data.(map[string]any)
		r, _ := d["result"].([]any)
		return r
	}
	wantCode, want := get(t, base, "/api/v1/query", url.Values{"query": {query}, "time": {"-62135596799"}})
	for _, at := range []string{"-62135596800", "0001-01-01T00:00:00Z", "-62135596800.0001"} {
		params := url.Values{"query": {query}, "time": {at}}
		if code, e := get(t, prom.URL, "/api/v1/query", params); code != http.StatusOK || len(result(e)) != 0 {
			t.Fatalf("time=%s: Prometheus answered %d %+v, want 200 and no sample", at, code, e)
		}
		code, e := get(t, base, "/api/v1/query", params)
		if len(result(e)) != 0 {
			t.Errorf("time=%s: serve answered %d with %v, Prometheus with no sample", at, code, result(e))
		}
		if code != wantCode || e.ErrorType != want.ErrorType || !strings.Contains(e.Error, "before the history") {
			t.Errorf("time=%s: got %d %s %q, want %d %s as at a second later: %q", at, code, e.ErrorType, e.Error, wantCode, want.ErrorType, want.Error)
		}
		// The gap is longer than a time.Duration holds: not the largest Duration.
		if !strings.Contains(e.Error, "(over 292 years later)") {
			t.Errorf("time=%s: the error says the gap as %q, want over 292 years", at, e.Error)
		}
	}
	// A selector pinned there by @ is that time too, not "no @": before the history, as
	// a second later. Prometheus answers no sample at either.
	pinned := func(at string) url.Values {
		return url.Values{"query": {"sum(vllm:num_requests_waiting @ " + at + ")"}}
	}
	wantCode, want = get(t, base, "/api/v1/query", pinned("-62135596799"))
	if wantCode != http.StatusUnprocessableEntity {
		t.Fatalf("@ a second after the year 1: got %d %+v, want 422 (before the history)", wantCode, want)
	}
	if code, e := get(t, prom.URL, "/api/v1/query", pinned("-62135596800")); code != http.StatusOK || len(result(e)) != 0 {
		t.Fatalf("@ the year 1: Prometheus answered %d %+v, want 200 and no sample", code, e)
	}
	if code, e := get(t, base, "/api/v1/query", pinned("-62135596800")); code != wantCode || e.ErrorType != want.ErrorType || !strings.Contains(e.Error, "before the history") {
		t.Errorf("@ the year 1: got %d %s %q, want %d %s as a second later: %q", code, e.ErrorType, e.Error, wantCode, want.ErrorType, want.Error)
	}
}

// TestUndecodableParameterIsBadData pins a difference docs/serve.md keeps on purpose: a
// parameter that does not decode (%zz) is 400 bad_data on every endpoint, where the
// real Prometheus server, on all but /api/v1/series and /federate, drops it and answers
// without it (a time so written is now, a match[] no matcher): an answer for another
// time or selection than asked would read as right.
func TestUndecodableParameterIsBadData(t *testing.T) {
	svc := newService(t, podscrapetest.ServiceOptions{Name: "vllm", Pods: 1})
	svc.Pods()[0].SetBody(body(0))
	base, prom := startServeBesidePrometheus(t, svc, "vllm:num_requests_waiting", 1)
	at := strconv.FormatInt(time.Now().Add(-time.Hour).Unix(), 10)
	for _, raw := range []string{
		"/api/v1/query?query=sum(vllm:num_requests_waiting)&time=" + at + "%zz",
		"/api/v1/labels?match[]=vllm:num_requests_waiting%zz",
	} {
		pc, pe := getRaw(t, prom.URL+raw)
		if pc != http.StatusOK || pe.Status != "success" {
			t.Fatalf("%s: Prometheus answered %d %+v, want 200: it drops the parameter", raw, pc, pe)
		}
		sc, se := getRaw(t, base+raw)
		if sc != http.StatusBadRequest || se.ErrorType != "bad_data" || !strings.HasPrefix(se.Error, `error parsing form values: invalid URL escape "%zz"`) {
			t.Errorf("%s: got %d %s %q, want 400 bad_data error parsing form values", raw, sc, se.ErrorType, se.Error)
		}
	}
}

// getRaw asks u, a URL written as is, and returns the status code and the envelope.
func getRaw(t *testing.T, u string) (int, envelope) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e envelope
	if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
		t.Fatalf("%s: %v", u, err)
	}
	return resp.StatusCode, e
}
