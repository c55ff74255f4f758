package serve

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/podscrape/podscrape/podscrapetest"
)

// clientRequest is one request a client sends, built as its source builds it.
type clientRequest struct {
	name   string     // the client, and what it asks for
	method string     // GET, or POST with form as a url-encoded body
	path   string     // under the server's base URL
	query  url.Values // in the URL, whatever the method
	form   url.Values // a POST's body
	header http.Header
}

// clientAnswer is what a server answered a clientRequest: the status, the headers a
// client reads, and the envelope with its data decoded generically (nil when the body is
// not JSON: a 404 or 405 page).
type clientAnswer struct {
	code                         int
	contentType, allow, encoding string
	envelope                     *clientEnvelope
}

// clientEnvelope is Prometheus' envelope, infos included.
type clientEnvelope struct {
	Status    string   `json:"status"`
	Data      any      `json:"data"`
	ErrorType string   `json:"errorType"`
	Error     string   `json:"error"`
	Warnings  []string `json:"warnings"`
	Infos     []string `json:"infos"`
}

// send sends req to base and reads the answer.
func send(t *testing.T, base string, req clientRequest) clientAnswer {
	t.Helper()
	u := base + req.path
	if len(req.query) > 0 {
		u += "?" + req.query.Encode()
	}
	var body io.Reader
	if req.form != nil {
		body = strings.NewReader(req.form.Encode())
	}
	hr, err := http.NewRequestWithContext(t.Context(), req.method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if req.form != nil {
		hr.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, vs := range req.header {
		for _, v := range vs {
			hr.Header.Add(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	a := clientAnswer{code: resp.StatusCode, contentType: resp.Header.Get("Content-Type"), allow: resp.Header.Get("Allow"),
		encoding: resp.Header.Get("Content-Encoding")}
	if strings.HasPrefix(a.contentType, "application/json") {
		a.envelope = &clientEnvelope{}
		if err := json.Unmarshal(b, a.envelope); err != nil {
			t.Fatalf("%s: %q: %v", req.name, b, err)
		}
		normalize(a.envelope.Data)
	}
	return a
}

// TestClientsRequestsAsPrometheus sends serve and the real Prometheus server, scraping the
// same pods, each request Grafana's Prometheus data source (its Go backend, pkg/promlib,
// and its frontend's language provider), prometheus-adapter (pkg/client, its relist and
// its queries) and KEDA's prometheus scaler send, built as their source builds them:
// method, parameters, body, headers. Both must answer alike: the status, the
// Content-Type, the Allow of a 405 (Grafana falls back from POST to GET on a 405 or 400),
// and the envelope (errorType, error, warnings, infos, data; job aside, as in
// TestSameJSONAsPrometheus). Where serve answers otherwise by design (its own
// endpoints' absence, 503 for pods it could not scrape), other tests hold it.
func TestClientsRequestsAsPrometheus(t *testing.T) {
	svc := newService(t, podscrapetest.ServiceOptions{Name: "vllm", Pods: 2})
	for i, p := range svc.Pods() {
		p.SetBody(body(i))
	}
	base, prom := startServeBesidePrometheus(t, svc, "vllm:num_requests_waiting", 4)

	now := time.Now()
	sec := func(t time.Time) string { return strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', -1, 64) }
	at := sec(now)
	from := sec(now.Add(-2 * time.Second))
	// Grafana's frontend sends its label lookups' range in whole seconds, snapped
	// outwards; its backend sends a query's range as float seconds, the step in seconds.
	hourAgo := strconv.FormatInt(now.Add(-time.Hour).Unix(), 10)
	later := strconv.FormatInt(now.Add(time.Minute).Unix(), 10)
	dayAgo, dayAgoEnd := strconv.FormatInt(now.Add(-25*time.Hour).Unix(), 10), strconv.FormatInt(now.Add(-24*time.Hour).Unix(), 10)
	// Grafana's exemplar probe sends milliseconds where Prometheus reads seconds.
	msAgo, msNow := strconv.FormatInt(now.Add(-30*time.Minute).UnixMilli(), 10), strconv.FormatInt(now.UnixMilli(), 10)
	waiting := "sum(vllm:num_requests_waiting)"
	grafanaPost := func(name, path string, form url.Values) clientRequest {
		return clientRequest{name: "Grafana (POST): " + name, method: http.MethodPost, path: path, form: form}
	}
	grafanaGet := func(name, path string, query url.Values) clientRequest {
		return clientRequest{name: "Grafana (GET): " + name, method: http.MethodGet, path: path, query: query}
	}
	for _, req := range []clientRequest{
		// Grafana's "Save & test" (promlib's healthcheck.go): 1+1 at 4 s past the epoch,
		// with the method the data source is set to, POST by default.
		grafanaPost("health check", "/api/v1/query", url.Values{"query": {"1+1"}, "time": {"4"}}),
		grafanaGet("health check", "/api/v1/query", url.Values{"query": {"1+1"}, "time": {"4"}}),
		grafanaPost("health check with the data source's query timeout", "/api/v1/query", url.Values{"query": {"1+1"}, "time": {"4"}, "timeout": {"60s"}}),
		// Its heuristics then ask buildinfo, POST first (the path is not on its list of
		// GET-only endpoints), GET on the 405.
		grafanaPost("heuristics' buildinfo", "/api/v1/status/buildinfo", nil),
		// Panels: range queries (step in seconds), instant queries, exemplars.
		grafanaPost("range query", "/api/v1/query_range", url.Values{"query": {waiting}, "start": {from}, "end": {at}, "step": {"1"}, "timeout": {"60s"}}),
		grafanaGet("range query", "/api/v1/query_range", url.Values{"query": {waiting}, "start": {from}, "end": {at}, "step": {"1"}}),
		grafanaPost("instant query", "/api/v1/query", url.Values{"query": {waiting}, "time": {at}}),
		grafanaPost("exemplars", "/api/v1/query_exemplars", url.Values{"query": {waiting}, "start": {from}, "end": {at}}),
		grafanaPost("an info annotation (rate of a gauge)", "/api/v1/query", url.Values{"query": {"sum(rate(vllm:num_requests_waiting[3s]))"}, "time": {at}}),
		grafanaPost("a warning annotation (quantile out of range)", "/api/v1/query", url.Values{"query": {"quantile(2, vllm:num_requests_waiting)"}, "time": {at}}),
		// Custom query parameters (Thanos' dedup, partial_response, ...) go to the URL,
		// the query in the body: Prometheus ignores what it does not know.
		{name: "Grafana (POST): custom query parameters in the URL", method: http.MethodPost, path: "/api/v1/query",
			query: url.Values{"dedup": {"true"}, "partial_response": {"false"}, "max_source_resolution": {"1h"}},
			form:  url.Values{"query": {waiting}, "time": {at}}},
		// A parameter in both: the body's is read (Go's FormValue), match[] from both.
		{name: "Grafana (POST): time in the body and in the URL", method: http.MethodPost, path: "/api/v1/query",
			query: url.Values{"time": {"4"}}, form: url.Values{"query": {waiting}, "time": {at}}},
		{name: "Grafana (POST): match[] in the body and in the URL", method: http.MethodPost, path: "/api/v1/series",
			query: url.Values{"match[]": {"vllm:kv_cache_usage_perc"}}, form: url.Values{"match[]": {"vllm:num_requests_waiting"}}},
		// The metric browser and the query editor (language_provider.ts,
		// resource_clients.ts), through promlib's QueryResource: POST first (the
		// configured method), GET on a 405 or 400 for the GET-only endpoints.
		grafanaGet("metric names", "/api/v1/label/__name__/values", url.Values{"start": {hourAgo}, "end": {later}, "limit": {"40000"}}),
		grafanaGet("metric names of a selector", "/api/v1/label/__name__/values", url.Values{"start": {hourAgo}, "end": {later}, "limit": {"40000"}, "match[]": {`{model_name="m"}`}}),
		grafanaPost("label values, POST refused", "/api/v1/label/pod/values", url.Values{"start": {hourAgo}, "end": {later}}),
		grafanaGet("label values of a selector", "/api/v1/label/pod/values", url.Values{"start": {hourAgo}, "end": {later}, "match[]": {"vllm:num_requests_waiting"}, "limit": {"1"}}),
		// A dashboard's range before either server's history: nothing to list.
		grafanaGet("metric names of yesterday", "/api/v1/label/__name__/values", url.Values{"start": {dayAgo}, "end": {dayAgoEnd}, "limit": {"40000"}}),
		grafanaPost("label names of yesterday", "/api/v1/labels", url.Values{"start": {dayAgo}, "end": {dayAgoEnd}}),
		grafanaPost("series of yesterday", "/api/v1/series", url.Values{"start": {dayAgo}, "end": {dayAgoEnd}, "match[]": {`{__name__!=""}`}}),
		grafanaGet("label values, escaped name", "/api/v1/label/U__model__name/values", url.Values{"start": {hourAgo}, "end": {later}}),
		grafanaPost("label names", "/api/v1/labels", url.Values{"start": {hourAgo}, "end": {later}, "limit": {"40000"}, "match[]": {"vllm:num_requests_waiting"}}),
		grafanaPost("series", "/api/v1/series", url.Values{"start": {hourAgo}, "end": {later}, "limit": {"40000"}, "match[]": {`{__name__!=""}`}}),
		grafanaPost("series, truncated", "/api/v1/series", url.Values{"start": {hourAgo}, "end": {later}, "limit": {"1"}, "match[]": {"vllm:num_requests_waiting"}}),
		grafanaGet("metadata", "/api/v1/metadata", nil),
		grafanaPost("metadata, POST refused", "/api/v1/metadata", nil),
		grafanaGet("exemplar support probe", "/api/v1/query_exemplars", url.Values{"query": {"test"}, "start": {msAgo}, "end": {msNow}}),
		grafanaGet("recording rules", "/api/v1/rules", nil),
		grafanaPost("recording rules, POST refused", "/api/v1/rules", nil),
		grafanaGet("alerts", "/api/v1/alerts", nil),
		grafanaPost("format query", "/api/v1/format_query", url.Values{"query": {"sum by(pod)(vllm:num_requests_waiting)"}}),

		// prometheus-adapter (pkg/client/api.go): its relist asks series from its
		// max age ago, no end; its queries send its now to the millisecond and a timeout
		// from its context's deadline, which its prometheus/common formats as "" when
		// the deadline is ahead. --prometheus-verb POST sends each as a form.
		{name: "prometheus-adapter: relist", method: http.MethodGet, path: "/api/v1/series",
			query: url.Values{"start": {sec(now.Add(-time.Minute))}, "match[]": {`vllm:num_requests_waiting{namespace!="",pod!=""}`}}},
		{name: "prometheus-adapter (POST): relist", method: http.MethodPost, path: "/api/v1/series",
			form: url.Values{"start": {sec(now.Add(-time.Minute))}, "match[]": {`vllm:num_requests_waiting{namespace!="",pod!=""}`}}},
		{name: "prometheus-adapter: query", method: http.MethodGet, path: "/api/v1/query",
			query: url.Values{"query": {"max by (pod) (vllm:num_requests_waiting)"}, "time": {at}, "timeout": {""}}},
		{name: "prometheus-adapter (POST): query", method: http.MethodPost, path: "/api/v1/query",
			form: url.Values{"query": {"max by (pod) (vllm:num_requests_waiting)"}, "time": {at}, "timeout": {""}}},
		{name: "prometheus-adapter: query, negative timeout", method: http.MethodGet, path: "/api/v1/query",
			query: url.Values{"query": {waiting}, "time": {at}, "timeout": {"-59s999ms"}}},

		// KEDA's prometheus scaler: GET, its now in RFC 3339 (to the second), its
		// namespace and queryParameters appended, customHeaders and auth as headers.
		{name: "KEDA: query", method: http.MethodGet, path: "/api/v1/query",
			query:  url.Values{"query": {waiting}, "time": {now.UTC().Format(time.RFC3339)}, "namespace": {svc.Namespace}, "timeout": {"2s"}},
			header: http.Header{"X-Scope-Orgid": {"llm-d"}}},
		// A serverAddress ending in a slash: both redirect //api/v1/query to
		// /api/v1/query, which KEDA's client follows.
		{name: "KEDA: serverAddress ending in a slash", method: http.MethodGet, path: "//api/v1/query",
			query: url.Values{"query": {waiting}, "time": {now.UTC().Format(time.RFC3339)}}},
		{name: "KEDA: query answering NaN", method: http.MethodGet, path: "/api/v1/query",
			query: url.Values{"query": {"sum(vllm:num_requests_waiting) / 0 * 0"}, "time": {now.UTC().Format(time.RFC3339)}}},
		{name: "KEDA: query answering a scalar", method: http.MethodGet, path: "/api/v1/query",
			query: url.Values{"query": {"scalar(" + waiting + ")"}, "time": {now.UTC().Format(time.RFC3339)}}},
		{name: "KEDA: query answering nothing", method: http.MethodGet, path: "/api/v1/query",
			query: url.Values{"query": {`sum(vllm:num_requests_waiting{model_name="other"})`}, "time": {now.UTC().Format(time.RFC3339)}}},
		{name: "KEDA: queryParameters lookback_delta and stats", method: http.MethodGet, path: "/api/v1/query",
			query: url.Values{"query": {waiting}, "time": {now.UTC().Format(time.RFC3339)}, "lookback_delta": {"30s"}, "stats": {"all"}}},
	} {
		t.Run(req.name, func(t *testing.T) {
			s, p := send(t, base, req), send(t, prom.URL, req)
			if s.code != p.code || s.contentType != p.contentType || s.allow != p.allow || (s.envelope == nil) != (p.envelope == nil) {
				t.Fatalf("serve      %d %q Allow %q\nprometheus %d %q Allow %q", s.code, s.contentType, s.allow, p.code, p.contentType, p.allow)
			}
			if s.envelope == nil {
				return
			}
			se, pe := *s.envelope, *p.envelope
			if sd, ok := se.Data.(map[string]any); ok {
				if _, ok := sd["stats"]; ok { // timings and counts of each server's own evaluation
					sd["stats"] = shape(sd["stats"])
					pe.Data.(map[string]any)["stats"] = shape(pe.Data.(map[string]any)["stats"])
				}
			}
			if se.Status != pe.Status || se.ErrorType != pe.ErrorType || se.Error != pe.Error ||
				!slices.Equal(se.Warnings, pe.Warnings) || !slices.Equal(se.Infos, pe.Infos) {
				t.Errorf("serve      %s %s %q warnings %q infos %q\nprometheus %s %s %q warnings %q infos %q",
					se.Status, se.ErrorType, se.Error, se.Warnings, se.Infos, pe.Status, pe.ErrorType, pe.Error, pe.Warnings, pe.Infos)
			}
			if !reflect.DeepEqual(comparable(req, se.Data), comparable(req, pe.Data)) {
				sj, _ := json.Marshal(se.Data)
				pj, _ := json.Marshal(pe.Data)
				t.Errorf("data differ\nserve      %s\nprometheus %s", sj, pj)
			}
		})
	}
}

// onlyPrometheus are the synthetic series a Prometheus scrape writes beside up,
// scrape_duration_seconds and scrape_samples_scraped, which serve does not write.
var onlyPrometheus = []string{"scrape_series_added", "scrape_samples_post_metric_relabeling"}

// comparable is data as both servers should give it: the lists of metric names, label
// names and series without what only one of them writes (onlyPrometheus; serve's job
// label), the metadata of the pods' families only, and of a series list truncated by its
// limit only its length: Prometheus keeps the series its head lists first, in the order
// they were created, serve the first in label order.
func comparable(req clientRequest, data any) any {
	switch {
	case strings.HasPrefix(req.path, "/api/v1/label/__name__/"):
		return namesWithout(data, onlyPrometheus...)
	case req.path == "/api/v1/labels":
		return namesWithout(data, "job")
	case req.path == "/api/v1/series":
		list, _ := data.([]any)
		var out []any
		for _, s := range list {
			if name, _ := s.(map[string]any)["__name__"].(string); !slices.Contains(onlyPrometheus, name) {
				out = append(out, s)
			}
		}
		if limit, _ := strconv.Atoi(req.form.Get("limit")); limit > 0 && len(out) == limit {
			return len(out)
		}
		return out
	case req.path == "/api/v1/metadata":
		m, _ := data.(map[string]any)
		out := map[string]any{}
		for k, v := range m {
			if strings.HasPrefix(k, "vllm:") {
				out[k] = v
			}
		}
		return out
	}
	return data
}
