package prometheus

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/prometheus/client_golang/api/prometheus/v1"

	"github.com/podscrape/podscrape/source"
)

// vmselectServer answers /api/v1/query as a VictoriaMetrics cluster's vmselect does with
// one of its vmstorage nodes down (VictoriaMetrics/VictoriaMetrics, branch cluster):
//   - deny_partial_response read as lib/httputil/bool.go:15-34 (GetBool: "", 0, f, false
//     and no are false, anything else true);
//   - denied: the failed node's error as a 503 (app/vmselect/netstorage/netstorage.go:2204,
//     "Returns 503 status code, so the caller could retry it"), in Prometheus' error
//     format with the status code as errorType (lib/httpserver/prometheus.go:20-36,
//     prometheus_error_response.qtpl:7);
//   - not denied: "success" from the nodes that answered, marked by a top-level
//     "isPartial": true, followed by "stats" (app/vmselect/prometheus/query_response.qtpl:
//     14, 34); a whole answer carries "isPartial": false.
//
// honour false answers as a vmselect the parameter does not reach (a proxy in front that
// drops it, an old vmselect): partial whatever the request says. It sends each request's
// form to sent.
func vmselectServer(t *testing.T, honour, partial bool, sent chan<- url.Values) *apiServer {
	return newAPIServer(t, func(w http.ResponseWriter, r *http.Request, _ string, _ int) {
		select {
		case sent <- r.URL.Query():
		default:
		}
		deny := false
		switch strings.ToLower(r.Form.Get("deny_partial_response")) {
		case "", "0", "f", "false", "no":
		default:
			deny = honour
		}
		if partial && deny {
			writeJSON(w, http.StatusServiceUnavailable, `{"status":"error","errorType":"503","error":"error when executing query=\"sum(vllm:num_requests_waiting)\" for (time=1700000000000, step=300000): cannot fetch query results from vmstorage nodes: cannot obtain connection from a pool: cannot dial vmstorage-2:8401: dial tcp 10.0.0.9:8401: connect: connection refused"}`)
			return
		}
		marked := "false"
		if partial {
			marked = "true"
		}
		writeJSON(w, http.StatusOK, `{"status":"success","isPartial":`+marked+`,"data":{"resultType":"vector","result":[{"metric":{},"value":[1700000000,"3"]}]},"stats":{"seriesFetched": "1","executionTimeMsec":0}}`)
	})
}

// A VictoriaMetrics cluster with a vmstorage node down answers from the others, marked
// "isPartial": true, a field client_golang does not decode: a sum over it read as the
// whole. NewAPI now asks for whole answers (deny_partial_response=1, as partial_response=
// false for Thanos), so vmselect fails the query (503, retried, then an Error); an answer
// marked partial anyway (the parameter not reaching vmselect) is an Error wrapping
// ErrPartialAnswer, not cached. A URL accepting partial answers (partial_response=true,
// or deny_partial_response=0) gets the values with a warning saying so. A whole answer
// ("isPartial": false) is an answer, with no warning.
func TestVictoriaMetricsPartialAnswerIsNoWholeAnswer(t *testing.T) {
	const query = "sum(vllm:num_requests_waiting)"
	for _, tc := range []struct {
		name      string
		suffix    string // appended to the server's URL
		honour    bool   // the server reads deny_partial_response
		partial   bool   // a vmstorage node is down
		wantDeny  []string
		wantError error // nil: an answer of 3
		wantWarn  bool
	}{
		{"default: whole answers asked for", "", true, true, []string{"1"}, nil, false},
		{"the parameter not reaching vmselect", "", false, true, []string{"1"}, ErrPartialAnswer, false},
		{"URL accepts partial answers", "/?partial_response=true", true, true, nil, nil, true},
		{"URL sets deny_partial_response=0", "/?deny_partial_response=0", true, true, []string{"0"}, nil, true},
		{"URL sets deny_partial_response=no", "/?deny_partial_response=no", true, true, []string{"no"}, nil, true},
		{"URL says partial_response=false", "/?partial_response=false", false, true, []string{"1"}, ErrPartialAnswer, false},
		{"a whole answer", "", true, false, []string{"1"}, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sent := make(chan url.Values, 1)
			srv := vmselectServer(t, tc.honour, tc.partial, sent)
			a, err := NewAPI(ClientConfig{URL: srv.URL + tc.suffix})
			if err != nil {
				t.Fatal(err)
			}
			cfg := fastConfig()
			cfg.QueryTimeout = 200 * time.Millisecond // a 503 is retried until then
			s := NewPrometheusSource(t.Context(), a, cfg)
			register(t, s, query)
			results, _ := s.Refresh(t.Context(), source.RefreshSpec{})
			r := results[query]
			if got := (<-sent)["deny_partial_response"]; !slices.Equal(got, tc.wantDeny) {
				t.Errorf("deny_partial_response sent: got %q, want %q", got, tc.wantDeny)
			}
			denied := tc.partial && !tc.wantWarn && tc.wantError == nil
			switch {
			case denied:
				var apiErr *v1.Error
				var qe *QueryError
				if !errors.As(r.Error, &apiErr) || !strings.Contains(r.Error.Error(), "cannot fetch query results from vmstorage nodes") || len(r.Values) != 0 {
					t.Errorf("a vmstorage node down: got values %v, Error %v; want no values and vmselect's error", r.Values, r.Error)
				}
				if errors.As(r.Error, &qe) && qe.Attempts < 2 {
					t.Errorf("vmselect's 503 was sent %d times; want it retried, as vmselect means it", qe.Attempts)
				}
			case tc.wantError != nil:
				var qe *QueryError
				if !errors.As(r.Error, &qe) || !errors.Is(r.Error, tc.wantError) || len(r.Values) != 0 {
					t.Errorf("an answer marked partial: got values %v, Error %v; want no values and a *QueryError wrapping %v", r.Values, r.Error, tc.wantError)
				}
				if r.Error != nil && !strings.Contains(r.Error.Error(), "isPartial") {
					t.Errorf("the error does not say the answer was marked partial: %v", r.Error)
				}
			default:
				if r.Error != nil || len(r.Values) != 1 || r.FirstValue().Value != 3 {
					t.Fatalf("got values %v, Error %v; want 3", r.Values, r.Error)
				}
				warned := slices.ContainsFunc(r.Warnings, func(w string) bool { return strings.Contains(w, "isPartial") })
				if warned != tc.wantWarn || (!tc.wantWarn && len(r.Warnings) != 0) {
					t.Errorf("warnings %q; want a warning that the answer is partial: %v", r.Warnings, tc.wantWarn)
				}
			}
			if cached := s.Get(query, nil) != nil; cached != (r.Error == nil) {
				t.Errorf("cached: %v, with Error %v", cached, r.Error)
			}
		})
	}
}
