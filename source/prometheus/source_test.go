package prometheus

import (
	"errors"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/podscrape/podscrape/source"
)

func TestResultShapes(t *testing.T) {
	const at = 1700000000.25
	atTime := time.UnixMilli(1700000000250)
	tests := []struct {
		name         string
		body         string
		want         []source.MetricValue
		wantWarnings []string
		wantErr      string
	}{
		{
			name: "vector: one value per series, labels, the time the server stamped (its evaluation time)",
			body: `{"status":"success","data":{"resultType":"vector","result":[` +
				`{"metric":{"__name__":"up","pod":"a"},"value":[1700000000.25,"1"]},` +
				`{"metric":{"pod":"b"},"value":[1700000000.25,"0.5"]}]}}`,
			want: []source.MetricValue{
				{Value: 1, Timestamp: atTime, Labels: map[string]string{"__name__": "up", "pod": "a"}},
				{Value: 0.5, Timestamp: atTime, Labels: map[string]string{"pod": "b"}},
			},
		},
		{
			name: "NaN and infinities are values",
			body: `{"status":"success","data":{"resultType":"vector","result":[` +
				`{"metric":{"pod":"a"},"value":[1700000000.25,"NaN"]},` +
				`{"metric":{"pod":"b"},"value":[1700000000.25,"+Inf"]},` +
				`{"metric":{"pod":"c"},"value":[1700000000.25,"-Inf"]}]}}`,
			want: []source.MetricValue{
				{Value: math.NaN(), Timestamp: atTime, Labels: map[string]string{"pod": "a"}},
				{Value: math.Inf(1), Timestamp: atTime, Labels: map[string]string{"pod": "b"}},
				{Value: math.Inf(-1), Timestamp: atTime, Labels: map[string]string{"pod": "c"}},
			},
		},
		{
			name: "scalar: one unlabelled value",
			body: `{"status":"success","data":{"resultType":"scalar","result":[1700000000.25,"42"]}}`,
			want: []source.MetricValue{{Value: 42, Timestamp: atTime, Labels: map[string]string{}}},
		},
		{
			name: "matrix: each series' latest sample",
			body: `{"status":"success","data":{"resultType":"matrix","result":[` +
				`{"metric":{"pod":"a"},"values":[[1699999999,"1"],[1700000000.25,"2"]]},` +
				`{"metric":{"pod":"b"},"values":[]}]}}`,
			want: []source.MetricValue{{Value: 2, Timestamp: atTime, Labels: map[string]string{"pod": "a"}}},
		},
		{
			name: "empty vector",
			body: `{"status":"success","data":{"resultType":"vector","result":[]}}`,
			want: []source.MetricValue{},
		},
		{
			name:         "warnings and infos kept",
			body:         `{"status":"success","data":{"resultType":"vector","result":[]},"warnings":["w1"],"infos":["i1"]}`,
			want:         []source.MetricValue{},
			wantWarnings: []string{"w1", "i1"},
		},
		{
			name: "native histograms left out, with a warning",
			body: `{"status":"success","data":{"resultType":"vector","result":[` +
				`{"metric":{"pod":"a"},"histogram":[1700000000.25,{"count":"1","sum":"1","buckets":[[0,"0","1","1"]]}]},` +
				`{"metric":{"pod":"b"},"value":[1700000000.25,"3"]}]}}`,
			want:         []source.MetricValue{{Value: 3, Timestamp: atTime, Labels: map[string]string{"pod": "b"}}},
			wantWarnings: []string{"1 native histogram samples left out: a MetricValue holds a float"},
		},
		{
			name:    "string is an error",
			body:    `{"status":"success","data":{"resultType":"string","result":[1700000000.25,"x"]}}`,
			wantErr: `unexpected value type "string"`, // client_golang refuses it
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newAPIServer(t, func(w http.ResponseWriter, _ *http.Request, _ string, _ int) {
				writeJSON(w, http.StatusOK, tt.body)
			})
			s := NewPrometheusSource(t.Context(), srv.api(t, ClientConfig{}), fastConfig())
			register(t, s, "q")
			results, err := s.Refresh(t.Context(), source.RefreshSpec{})
			r := results["q"]
			if tt.wantErr != "" {
				if err == nil || r == nil || r.Error == nil || !strings.Contains(r.Error.Error(), tt.wantErr) {
					t.Fatalf("got result %+v, error %v; want an error containing %q", r, err, tt.wantErr)
				}
				return
			}
			if err != nil || r.Error != nil {
				t.Fatalf("got errors %v, %v; want none", err, r.Error)
			}
			if !equalValues(r.Values, tt.want) {
				t.Errorf("got values %+v, want %+v", r.Values, tt.want)
			}
			if !slices.Equal(r.Warnings, tt.wantWarnings) {
				t.Errorf("got warnings %q, want %q", r.Warnings, tt.wantWarnings)
			}
			_ = at
		})
	}
}

func equalValues(got, want []source.MetricValue) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		g, w := got[i], want[i]
		sameValue := g.Value == w.Value || math.IsNaN(g.Value) && math.IsNaN(w.Value)
		if !sameValue || !g.Timestamp.Equal(w.Timestamp) || len(g.Labels) != len(w.Labels) {
			return false
		}
		for k, v := range w.Labels {
			if g.Labels[k] != v {
				return false
			}
		}
	}
	return true
}

// TestQueriesSent checks what reaches the server: templates filled and escaped by
// source.FillTemplate, metric-name queries as selectors, every query of a Refresh at the
// one instant of the source's clock (the results' CollectedAt), and QueryTimeout as the
// server's timeout.
func TestQueriesSent(t *testing.T) {
	srv := newAPIServer(t, func(w http.ResponseWriter, _ *http.Request, _ string, _ int) {
		writeJSON(w, http.StatusOK, vectorOf(1, "1"))
	})
	// Sent in whole milliseconds (truncated, as the pod source's history evaluates).
	clk := clocktesting.NewFakeClock(time.UnixMilli(1700000000123).Add(700 * time.Microsecond))
	cfg := fastConfig()
	cfg.Clock = clk
	s := NewPrometheusSource(t.Context(), srv.api(t, ClientConfig{}), cfg)
	queries := []source.QueryTemplate{
		{Name: "promql", Type: source.QueryTypePromQL, Params: []string{"modelID"},
			Template: `sum(x{model_name="{{.modelID}}"}[{{.window}}])`},
		{Name: "metric", Type: source.QueryTypeMetricName, Template: "vllm:num_requests_waiting"},
		{Name: "utf8_metric", Type: source.QueryTypeMetricName, Template: `my.metric"x`},
	}
	for _, q := range queries {
		s.QueryList().MustRegister(q)
	}
	params := map[string]string{"modelID": `x",namespace="other`, "window": "5m"}
	results, err := s.Refresh(t.Context(), source.RefreshSpec{Params: params})
	if err != nil {
		t.Fatal(err)
	}
	wantQueries := []string{
		`sum(x{model_name="x\",namespace=\"other"}[5m])`,
		`vllm:num_requests_waiting`,
		`{"my.metric\"x"}`,
	}
	var got []string
	for _, r := range srv.received() {
		got = append(got, r.query)
		if r.time != "1700000000.123" {
			t.Errorf("query %s sent with time %s, want 1700000000.123", r.query, r.time)
		}
		// Prometheus parses the timeout with model.ParseDuration.
		if d, err := model.ParseDuration(r.timeout); err != nil || d <= 0 || time.Duration(d) > cfg.QueryTimeout {
			t.Errorf("query %s sent with timeout %q, want a Prometheus duration in (0, %s]", r.query, r.timeout, cfg.QueryTimeout)
		}
	}
	slices.Sort(got)
	slices.Sort(wantQueries)
	if !slices.Equal(got, wantQueries) {
		t.Errorf("got queries %q, want %q", got, wantQueries)
	}
	for name, r := range results {
		if !r.CollectedAt.Equal(clk.Now()) {
			t.Errorf("%s: got CollectedAt %s, want the clock's %s", name, r.CollectedAt, clk.Now())
		}
	}

	// A missing parameter fails that query only, with FillTemplate's error.
	results, err = s.Refresh(t.Context(), source.RefreshSpec{Params: map[string]string{"window": "5m"}})
	if err != nil {
		t.Fatalf("got %v, want nil: the metric queries answered", err)
	}
	if e := results["promql"].Error; e == nil || !strings.Contains(e.Error(), `parameter "modelID" is missing`) {
		t.Errorf("got %v, want the missing parameter named", e)
	}
}

// TestCache checks caching per name and params, metric-name results found with any
// params, a failed query keeping the cached value, and expiry by the TTL.
func TestCache(t *testing.T) {
	var fail atomic.Bool
	srv := newAPIServer(t, func(w http.ResponseWriter, _ *http.Request, query string, _ int) {
		if fail.Load() {
			writeJSON(w, http.StatusUnprocessableEntity, `{"status":"error","errorType":"execution","error":"boom"}`)
			return
		}
		values := map[string]string{`up{namespace="a"}`: "1", `up{namespace="b"}`: "2", "up": "3"}
		writeJSON(w, http.StatusOK, vectorOf(1, values[query]))
	})
	clk := clocktesting.NewFakeClock(time.Now())
	cfg := fastConfig()
	cfg.Clock = clk
	cfg.DefaultTTL = time.Minute
	s := NewPrometheusSource(t.Context(), srv.api(t, ClientConfig{}), cfg)
	s.QueryList().MustRegister(source.QueryTemplate{Name: "ns", Type: source.QueryTypePromQL, Params: []string{"namespace"}, Template: `up{namespace="{{.namespace}}"}`})
	s.QueryList().MustRegister(source.QueryTemplate{Name: "m", Type: source.QueryTypeMetricName, Template: "up"})
	a, b := map[string]string{"namespace": "a"}, map[string]string{"namespace": "b"}

	if s.Get("ns", a) != nil {
		t.Fatal("got a cached value before any Refresh")
	}
	mustRefresh(t, s, source.RefreshSpec{Queries: []string{"ns"}, Params: a})
	mustRefresh(t, s, source.RefreshSpec{Queries: []string{"ns", "m"}, Params: b})
	if got, want := s.Get("ns", a).Result.FirstValue().Value, 1.0; got != want {
		t.Errorf("ns for a: got %v, want %v", got, want)
	}
	if got, want := s.Get("ns", b).Result.FirstValue().Value, 2.0; got != want {
		t.Errorf("ns for b: got %v, want %v", got, want)
	}
	if s.Get("m", nil) == nil || s.Get("m", a) == nil {
		t.Error("metric-name result not found with nil or other params")
	}
	if v := s.MustGet(t.Context(), "ns", a); v.FirstValue().Value != 1 || len(srv.received()) != 3 {
		t.Errorf("MustGet of a cached value: got %v after %d requests, want the cached 1 after 3", v.FirstValue().Value, len(srv.received()))
	}

	fail.Store(true)
	clk.Step(time.Second)
	results, err := s.Refresh(t.Context(), source.RefreshSpec{Queries: []string{"ns"}, Params: a})
	if !errors.Is(err, ErrAllQueriesFailed) || results["ns"].Error == nil {
		t.Fatalf("got %v, %v; want ErrAllQueriesFailed and the result's Error", err, results["ns"])
	}
	if got := s.Get("ns", a); got == nil || got.Result.FirstValue().Value != 1 {
		t.Errorf("after a failed query: got %+v, want the cached value 1", got)
	}
	clk.Step(time.Minute)
	if got := s.Get("ns", a); got != nil {
		t.Errorf("after the TTL: got %+v, want nil", got)
	}
	if r := s.MustGet(t.Context(), "ns", a); r.Error == nil || !strings.Contains(r.Error.Error(), "boom") {
		t.Errorf("MustGet after expiry with a failing server: got %+v, want the server's error", r)
	}
}

func mustRefresh(t *testing.T, s *PrometheusSource, spec source.RefreshSpec) map[string]*source.MetricResult {
	t.Helper()
	results, err := s.Refresh(t.Context(), spec)
	if err != nil {
		t.Fatal(err)
	}
	for name, r := range results {
		if r.Error != nil {
			t.Fatalf("%s: %v", name, r.Error)
		}
	}
	return results
}

// TestSomeQueriesFail checks that a failing query has its Error and the server's
// message while the others answer and Refresh returns nil.
func TestSomeQueriesFail(t *testing.T) {
	srv := newAPIServer(t, func(w http.ResponseWriter, _ *http.Request, query string, _ int) {
		if query == "bad(" {
			writeJSON(w, http.StatusBadRequest, `{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:5: parse error: unexpected end of input"}`)
			return
		}
		writeJSON(w, http.StatusOK, vectorOf(1, "7"))
	})
	s := NewPrometheusSource(t.Context(), srv.api(t, ClientConfig{}), fastConfig())
	register(t, s, "good", "bad(")
	results, err := s.Refresh(t.Context(), source.RefreshSpec{})
	if err != nil {
		t.Fatalf("got %v, want nil: one query answered", err)
	}
	if r := results["good"]; r.Error != nil || r.FirstValue().Value != 7 {
		t.Errorf("good: got %+v, want 7 and no error", r)
	}
	r := results["bad("]
	var qerr *QueryError
	var apiErr *v1.Error
	if !errors.As(r.Error, &qerr) || !errors.As(r.Error, &apiErr) || apiErr.Type != v1.ErrBadData {
		t.Fatalf("bad: got %v, want a *QueryError around a bad_data *v1.Error", r.Error)
	}
	if msg := r.Error.Error(); !strings.Contains(msg, "parse error: unexpected end of input") || !strings.Contains(msg, `query "bad("`) {
		t.Errorf("bad: got %q, want the query named and the server's message", msg)
	}
	if len(r.Values) != 0 || s.Get("bad(", nil) != nil {
		t.Errorf("bad: got values %v or a cached value; want neither", r.Values)
	}

	if _, err := s.Refresh(t.Context(), source.RefreshSpec{Queries: []string{"nope"}}); err == nil || !strings.Contains(err.Error(), `unknown query "nope"`) {
		t.Errorf("unknown query: got %v, want it named", err)
	}
	nilAPI := NewPrometheusSource(t.Context(), nil, PrometheusSourceConfig{})
	register(t, nilAPI, "up")
	if _, err := nilAPI.Refresh(t.Context(), source.RefreshSpec{}); err == nil || !strings.Contains(err.Error(), "api is nil") {
		t.Errorf("nil api: got %v, want it named", err)
	}
}

// TestCacheNeverGoesBack runs a Refresh evaluated at t1 whose answer arrives after that
// of a Refresh evaluated at t2 > t1: the cache keeps t2's answer, and Get never returns
// the older one.
func TestCacheNeverGoesBack(t *testing.T) {
	release := make(chan struct{})
	srv := newAPIServer(t, func(w http.ResponseWriter, _ *http.Request, query string, n int) {
		if query == "a_block" {
			<-release
		}
		writeJSON(w, http.StatusOK, vectorOf(1, strconv.Itoa(n)))
	})
	clk := clocktesting.NewFakeClock(time.Now())
	cfg := fastConfig()
	cfg.Clock = clk
	cfg.MaxConcurrentQueries = 1 // the first Refresh sends q only after a_block answers
	s := NewPrometheusSource(t.Context(), srv.api(t, ClientConfig{}), cfg)
	register(t, s, "a_block", "q")
	t1 := clk.Now()
	first := refreshAsync(t.Context(), s, source.RefreshSpec{})
	eventually(t, "a_block on the server", func() bool { return srv.count("a_block") == 1 })
	clk.Step(time.Second)
	t2 := clk.Now()
	mustRefresh(t, s, source.RefreshSpec{Queries: []string{"q"}})
	close(release)
	out := <-first
	if out.err != nil {
		t.Fatal(out.err)
	}
	if r := out.results["q"]; !r.CollectedAt.Equal(t1) || r.FirstValue().Value != 3 {
		t.Fatalf("first Refresh: got q = %v at %s, want 3 (the third request) at %s", r.FirstValue().Value, r.CollectedAt, t1)
	}
	if got := s.Get("q", nil); got == nil || !got.Result.CollectedAt.Equal(t2) || got.Result.FirstValue().Value != 2 {
		t.Errorf("cached q: got %+v, want 2 evaluated at %s", got, t2)
	}
}
